// Conv2d kernel ladder on VGG16 layer shapes: each variant checked against the float64 reference and timed.
// Run: node dev/run.mjs conv2d [filter] [batch]   (MESA_SHADER_CACHE_DISABLE=true to see compile times)
import { Engine, type Tensor } from '../src/engine/index.js';
import { conv2dGeometry, convGemmSpec, type Conv2dGeometry } from '../src/kernels/conv2d.js';
import { adapterLanes, lanesGemmCode, tileGrid, type GemmTile } from '../src/kernels/matmul.js';
import { refConv2d, refConv2dBackward, refConvGeometry } from '../src/reference/conv2d.js';
import { randn, rate, relErr, threadCpu, time, type Timing } from './harness.js';

interface Layer {
  name: string;
  h: number;
  cin: number;
  cout: number;
}

const layers: Layer[] = [
  { name: 'block1_conv2', h: 150, cin: 64, cout: 64 },
  { name: 'block3_conv2', h: 37, cin: 256, cout: 256 },
  { name: 'block5_conv2', h: 9, cin: 512, cout: 512 },
];

interface Variant {
  name: string;
  kind: 'fwd' | 'gx' | 'gw';
  code: (g: Conv2dGeometry) => string;
  workgroups: (g: Conv2dGeometry) => [number, number];
}

/** 1: one output per invocation, loops over the taps and input channels. */
const naive: Variant = {
  name: '1 naive 1 output/lane',
  kind: 'fwd',
  code: (g) => `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= ${g.N * g.OH * g.OW * g.Cout}u) { return; }
  let co = i % ${g.Cout}u; let m = i / ${g.Cout}u;
  let ox = m % ${g.OW}u; let oy = (m / ${g.OW}u) % ${g.OH}u; let n = m / ${g.OW * g.OH}u;
  var acc = bias[co];
  for (var ky = 0u; ky < ${g.KH}u; ky++) {
    let iy = i32(oy + ky) - ${g.padTop};
    if (iy < 0 || iy >= ${g.H}) { continue; }
    for (var kx = 0u; kx < ${g.KW}u; kx++) {
      let ix = i32(ox + kx) - ${g.padLeft};
      if (ix < 0 || ix >= ${g.W}) { continue; }
      let xb = ((n * ${g.H}u + u32(iy)) * ${g.W}u + u32(ix)) * ${g.Cin}u;
      let wb = (ky * ${g.KW}u + kx) * ${g.Cin}u;
      for (var ci = 0u; ci < ${g.Cin}u; ci++) { acc = fma(X[xb + ci], Wt[(wb + ci) * ${g.Cout}u + co], acc); }
    }
  }
  out[i] = max(acc, 0.0);
}`,
  workgroups: (g) => {
    const groups = Math.ceil((g.N * g.OH * g.OW * g.Cout) / 64);
    return groups > 65535 ? [65535, Math.ceil(groups / 65535)] : [groups, 1];
  },
};

function gemm(name: string, kind: Variant['kind'], tile: () => GemmTile): Variant {
  return {
    name,
    kind,
    code: (g) =>
      lanesGemmCode(tile(), kind === 'fwd' ? convGemmSpec('conv2d_fwd', g, { bias: true, act: 'relu' }) : convGemmSpec(kind === 'gx' ? 'conv2d_grad_input' : 'conv2d_grad_filter', g)),
    workgroups: (g) => {
      const t = tile();
      if (kind === 'fwd') return tileGrid(t, g.N * g.OH * g.OW, g.Cout);
      if (kind === 'gx') return tileGrid(t, g.N * g.H * g.W, g.Cin);
      return tileGrid(t, g.KH * g.KW * Math.ceil(g.Cin / t.TM) * t.TM, g.Cout);
    },
  };
}

const e = await Engine.create();
const lanes = adapterLanes(e);
const t =
  (TM: number, TNv: number, bcast = lanes.bcast, loopEpilogue = false): (() => GemmTile) =>
  () => ({ L: lanes.L, TM, TNv, bcast, loopEpilogue });

/**
 * Experiment, not a kernel (its `err` is meaningless): the 16×4 forward with the loads from `bufs` replaced by values
 * computed in registers, to see what the loads cost (dev/NOTES.md).
 */
function withoutLoads(name: string, bufs: string[]): Variant {
  const base = gemm(name, 'fwd', t(16, 1));
  return {
    ...base,
    code: (g) => {
      let code = base.code(g).replace('let row0', '_ = Wt4[0]; _ = X4[0];\n  let row0');
      for (const b of bufs) code = code.replace(new RegExp(`${b}\\[([^\\]]*)\\]`, 'g'), 'vec4f(f32($1), 1.0, 2.0, f32(lane))');
      return code;
    },
  };
}

const variants: Variant[] = [
  naive,
  gemm('2 per-lane loads 8×4/lane', 'fwd', t(8, 1, false)),
  gemm('3 bcast 16×4/lane', 'fwd', t(16, 1)),
  gemm('4 bcast 32×4/lane', 'fwd', t(32, 1)),
  gemm('4 bcast 32×8/lane', 'fwd', t(32, 2)),
  gemm('4 bcast 64×4/lane', 'fwd', t(64, 1)),
  gemm('5 bcast 32×4/lane loop-epi', 'fwd', t(32, 1, true, true)),
  gemm('6 uniform 16×4/lane', 'fwd', t(16, 1, false)),
  withoutLoads('x no B loads 16×4', ['Wt4']),
  withoutLoads('x no A loads 16×4', ['X4']),
  withoutLoads('x no loads 16×4', ['X4', 'Wt4']),
  gemm('5 bcast 32×8/lane loop-epi', 'fwd', t(32, 2, true, true)),
  gemm('gx bcast 16×4/lane', 'gx', t(16, 1)),
  gemm('gx bcast 32×4/lane', 'gx', t(32, 1)),
  gemm('gw bcast 16×4/lane', 'gw', t(16, 1)),
  gemm('gw bcast 32×4/lane', 'gw', t(32, 1)),
];

const filter = process.argv[2];
const batch = Number(process.argv[3] ?? 1);
const only = process.argv[4];
console.log(`${e.info.description}; lanes ${lanes.L}, subgroup broadcast ${lanes.bcast}; batch ${batch}`);
for (const layer of layers) {
  if (only && layer.name !== only) continue;
  const shape = { n: batch, h: layer.h, w: layer.h, cin: layer.cin, kh: 3, kw: 3, cout: layer.cout, stride: 1, padding: 'same' as const };
  const rg = refConvGeometry(shape);
  const g = conv2dGeometry([batch, layer.h, layer.h, layer.cin], [3, 3, layer.cin, layer.cout], 1, 'same');
  const x = randn(batch * layer.h * layer.h * layer.cin, 1);
  const w = randn(9 * layer.cin * layer.cout, 2).map((v) => v * 0.1);
  const b = randn(layer.cout, 3);
  const gy = randn(batch * g.OH * g.OW * layer.cout, 4);
  let refY: Float64Array | null = null;
  let refB: ReturnType<typeof refConv2dBackward> | null = null;
  const tx = e.upload(x, [batch, layer.h, layer.h, layer.cin]);
  const tw = e.upload(w, [3, 3, layer.cin, layer.cout]);
  const tb = e.upload(b, [layer.cout]);
  const tgy = e.upload(gy, [batch, g.OH, g.OW, layer.cout]);
  const flop = 2 * batch * g.OH * g.OW * 9 * layer.cin * layer.cout;
  console.log(`${layer.name} ${layer.h}×${layer.h}×${layer.cin} → ${layer.cout}: ${(flop / 1e9).toFixed(3)} GFLOP per kernel`);
  // ROUNDS=n interleaves the variants n times and keeps each one's best, to see through other load on the machine.
  const rounds = Number(process.env.ROUNDS ?? 1);
  const best = new Map<string, { t: Timing; err: number; compile: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      if (filter && !v.name.startsWith(filter)) continue;
      if (v === naive && flop > 2e9) continue;
      const outShape = v.kind === 'fwd' ? [batch, g.OH, g.OW, layer.cout] : v.kind === 'gx' ? tx.shape : tw.shape;
      const out = e.full(outShape, NaN);
      const bindings: Tensor[] = v.kind === 'fwd' ? [tx, tw, tb, out] : v.kind === 'gx' ? [tgy, tw, out] : [tx, tgy, out];
      const code = v.code(g);
      const run = () => e.run({ name: v.name, code, bindings, workgroups: v.workgroups(g) });
      // llvmpipe compiles a pipeline at its first dispatch, on lavapipe's queue thread.
      const c0 = threadCpu().other;
      run();
      const got = await out.readF32();
      const compile = threadCpu().other - c0;
      let ref: Float64Array;
      if (v.kind === 'fwd') ref = refY ??= refConv2d(x, w, b, rg, true);
      else {
        refB ??= refConv2dBackward(x, w, b, gy, rg, false);
        ref = v.kind === 'gx' ? refB.gx : refB.gw;
      }
      const err = relErr(got, ref);
      const tm = await time(e, run, 3, rounds > 1 ? 1 : 2);
      const prev = best.get(v.name);
      best.set(v.name, { err, compile: prev?.compile ?? compile, t: prev ? { min: Math.min(prev.t.min, tm.min), median: tm.median, cpu: Math.min(prev.t.cpu, tm.cpu) } : tm });
      out.dispose();
    }
  }
  for (const [name, { t, err, compile }] of best) {
    console.log(`  ${name.padEnd(30)} err ${err.toExponential(1)}  compile ${compile.toFixed(1).padStart(4)} cpu-s ${rate(flop, t)}`);
  }
  for (const t of [tx, tw, tb, tgy]) t.dispose();
}
e.destroy();
process.exit(0);
