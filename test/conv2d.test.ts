import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { conv2dForward, conv2dGeometry, conv2dGradFilter, conv2dGradInput } from '../src/kernels/conv2d.js';
import { forceNoSubgroups, reluMaskColumnSums } from '../src/kernels/matmul.js';
import { forceGemmVariant, GEMM_VARIANTS } from '../src/kernels/gemm-variant.js';
import { setWinograd } from '../src/kernels/winograd.js';
import { conv2d } from '../src/nn/functional/index.js';
import { refConv2d, refConv2dBackward, refConvGeometry, type RefConvGeometry } from '../src/reference/conv2d.js';
import { expectClose, FWD_TOL, GRAD_TOL, poisoned, randomArray } from './helpers/small-ops.js';
import type { ConvCase } from './helpers/conv-case.js';
import { testEngine } from './helpers/engine.js';

type Case = ConvCase;

const label = (c: Case): string =>
  `${c.n}×${c.h}×${c.w}×${c.cin} → ${c.cout}, ${c.k}×${c.k} stride ${c.stride} ${c.padding}${c.relu ? ' relu' : ''}${c.bias ? ' +bias' : ''}`;

function geometry(c: Case): RefConvGeometry {
  return refConvGeometry({ n: c.n, h: c.h, w: c.w, cin: c.cin, kh: c.k, kw: c.k, cout: c.cout, stride: c.stride, padding: c.padding });
}

function data(c: Case, seed: number) {
  const g = geometry(c);
  const x = randomArray(c.n * c.h * c.w * c.cin, seed, -1, 1);
  const w = randomArray(c.k * c.k * c.cin * c.cout, seed + 1, -0.5, 0.5);
  const b = c.bias ? randomArray(c.cout, seed + 2, -0.3, 0.3) : null;
  const gy = randomArray(c.n * g.oh * g.ow * c.cout, seed + 3, -1, 1);
  return { g, x, w, b, gy };
}

/** Fills the pool with NaN buffers of these sizes, so tensors the kernels allocate start out poisoned. */
function poisonPool(e: Engine, sizes: number[]): void {
  const ts = sizes.map((n) => e.full([n], NaN));
  for (const t of ts) t.dispose();
}

async function read(t: Tensor): Promise<Float32Array> {
  return t.readF32();
}

// Odd spatial sizes, batch 3, 3 input channels, channel counts that are not multiples of 4 (scalar loads) and that
// are (vec4 loads), both strides and paddings (including Keras' asymmetric 'same' padding at stride 2 on even
// sizes), 1×1 and 3×3, with and without ReLU and bias, and more output channels than one tile holds.
const cases: Case[] = [
  { n: 3, h: 7, w: 5, cin: 3, cout: 5, k: 3, stride: 1, padding: 'same', relu: true, bias: true },
  { n: 2, h: 8, w: 5, cin: 6, cout: 10, k: 3, stride: 2, padding: 'same', relu: false, bias: true },
  { n: 3, h: 7, w: 5, cin: 8, cout: 12, k: 3, stride: 2, padding: 'valid', relu: true, bias: false },
  { n: 2, h: 6, w: 9, cin: 5, cout: 7, k: 1, stride: 1, padding: 'valid', relu: false, bias: true },
  { n: 1, h: 9, w: 7, cin: 16, cout: 36, k: 1, stride: 2, padding: 'same', relu: true, bias: true },
  { n: 3, h: 5, w: 7, cin: 12, cout: 40, k: 3, stride: 1, padding: 'same', relu: true, bias: true },
  { n: 1, h: 7, w: 5, cin: 40, cout: 3, k: 3, stride: 1, padding: 'valid', relu: false, bias: true },
];

describe('conv2d float64 reference', () => {
  it('Keras geometry: same padding puts the smaller half on top/left', () => {
    const g = refConvGeometry({ n: 1, h: 8, w: 7, cin: 1, kh: 3, kw: 3, cout: 1, stride: 2, padding: 'same' });
    // out = ceil(8/2) = 4, pad_total = max(3·2 + 3 − 8, 0) = 1 → top 0; width: out 4, pad_total = 2 → left 1.
    expect([g.oh, g.ow, g.padTop, g.padLeft]).toEqual([4, 4, 0, 1]);
    const k = conv2dGeometry([1, 8, 7, 1], [3, 3, 1, 1], 2, 'same');
    expect([k.OH, k.OW, k.padTop, k.padLeft]).toEqual([g.oh, g.ow, g.padTop, g.padLeft]);
  });

});

/** Runs forward and every gradient kernel on poisoned outputs and compares with the reference. */
async function checkKernels(e: Engine, c: Case, seed: number, grads: boolean): Promise<void> {
  const { g, x, w, b, gy } = data(c, seed);
  const tx = e.upload(x, [c.n, c.h, c.w, c.cin]);
  const tw = e.upload(w, [c.k, c.k, c.cin, c.cout]);
  const tb = b ? e.upload(b, [c.cout]) : null;
  const kg = conv2dGeometry(tx.shape, tw.shape, c.stride, c.padding);
  const y = poisoned(e, [c.n, g.oh, g.ow, c.cout]);
  conv2dForward(e, tx, tw, tb, { stride: c.stride, padding: c.padding, relu: c.relu, out: y });
  expectClose(await read(y), refConv2d(x, w, b, g, c.relu), FWD_TOL, `${label(c)} forward`);
  if (grads) {
    const ref = refConv2dBackward(x, w, b, gy, g, c.relu);
    const tgy = e.upload(gy, y.shape);
    poisonPool(e, [gy.length, c.cout]);
    const { masked, sums } = reluMaskColumnSums(e, tgy, c.relu ? y : null, { masked: c.relu, sums: true });
    const g2 = masked ?? tgy;
    const gx = poisoned(e, tx.shape);
    conv2dGradInput(e, g2, tw, kg, gx);
    const gw = poisoned(e, tw.shape);
    conv2dGradFilter(e, tx, g2, kg, gw);
    expectClose(await read(gx), ref.gx, GRAD_TOL, `${label(c)} grad input`);
    expectClose(await read(gw), ref.gw, GRAD_TOL, `${label(c)} grad filter`);
    expectClose(await read(sums!), ref.gb, GRAD_TOL, `${label(c)} grad bias`);
    for (const t of [tgy, masked, sums, gx, gw]) t?.dispose();
  }
  for (const t of [tx, tw, tb, y]) t?.dispose();
}

describe('conv2d kernels against the float64 reference', () => {
  for (const [i, c] of cases.entries()) {
    it(`forward and gradients: ${label(c)}`, async () => {
      const e = await testEngine();
      await checkKernels(e, c, 100 + i, true);
    });
  }

  // VGG16 layers at batch 1 on a 150×150 input.
  it('block1_conv1: 150×150×3 → 64, forward', async () => {
    const e = await testEngine();
    await checkKernels(e, { n: 1, h: 150, w: 150, cin: 3, cout: 64, k: 3, stride: 1, padding: 'same', relu: true, bias: true }, 7, false);
  });

  it('block3_conv2: 37×37×256 → 256, forward', async () => {
    const e = await testEngine();
    await checkKernels(e, { n: 1, h: 37, w: 37, cin: 256, cout: 256, k: 3, stride: 1, padding: 'same', relu: true, bias: true }, 8, false);
  });

  it('block5_conv2: 9×9×512 → 512, forward and gradients', async () => {
    const e = await testEngine();
    await checkKernels(e, { n: 1, h: 9, w: 9, cin: 512, cout: 512, k: 3, stride: 1, padding: 'same', relu: true, bias: true }, 9, true);
  });
});

describe('conv2d: every GEMM variant, the direct kernels (Winograd off)', () => {
  // The workgroup-memory kernels built for GPUs (gemm-tiled.ts) and the lavapipe ones, forced one at a time.
  // Four cases for the smallest tiles (the most tile edges: both strides and paddings, 1×1), two for the others
  // (pipelines compile slowly on a software adapter).
  for (const v of GEMM_VARIANTS.filter((x) => x !== 'lanes')) {
    it(`${v}: forward and both gradients, and a channel slice`, async () => {
      const e = await testEngine();
      setWinograd(e, false);
      forceGemmVariant(e, v);
      try {
        const mine = v === 't32x32' ? [cases[0]!, cases[1]!, cases[2]!, cases[4]!] : [cases[1]!, cases[5]!];
        for (const [i, c] of mine.entries()) await checkKernels(e, c, 300 + i, true);
        const [n, h, w, cin, c1, c2] = [1, 5, 6, 8, 6, 12];
        const x = randomArray(n * h * w * cin, 81);
        const w2 = randomArray(9 * cin * c2, 82);
        const b2 = randomArray(c2, 83);
        const r2 = refConv2d(x, w2, b2, refConvGeometry({ n, h, w, cin, kh: 3, kw: 3, cout: c2, stride: 1, padding: 'same' }), true);
        const tx = e.upload(x, [n, h, w, cin]);
        const tw = e.upload(w2, [3, 3, cin, c2]);
        const tb = e.upload(b2, [c2]);
        const out = e.full([n, h, w, c1 + c2], 7);
        conv2dForward(e, tx, tw, tb, { relu: true, out, outChannelOffset: c1 });
        const got = await read(out);
        const slice = new Float32Array(n * h * w * c2);
        for (let p = 0; p < n * h * w; p++) {
          for (let c = 0; c < c1; c++) expect(got[p * (c1 + c2) + c]).toBe(7);
          for (let c = 0; c < c2; c++) slice[p * c2 + c] = got[p * (c1 + c2) + c1 + c]!;
        }
        expectClose(slice, r2, FWD_TOL, `${v} channel slice`);
        for (const t of [tx, tw, tb, out]) t.dispose();
      } finally {
        forceGemmVariant(e, null);
        setWinograd(e, true);
      }
    });
  }

  it('lanes without subgroups (the path of adapters without a fixed subgroup size): forward and both gradients', async () => {
    const e = await testEngine();
    setWinograd(e, false);
    forceGemmVariant(e, 'lanes');
    forceNoSubgroups(e, true);
    try {
      for (const [i, c] of [cases[1]!, cases[5]!].entries()) await checkKernels(e, c, 400 + i, true);
    } finally {
      forceNoSubgroups(e, false);
      forceGemmVariant(e, null);
      setWinograd(e, true);
    }
  });

  it('block5_conv2 (9×9×512 → 512) with the direct kernels: forward and both gradients', async () => {
    const e = await testEngine();
    setWinograd(e, false);
    try {
      await checkKernels(e, { n: 1, h: 9, w: 9, cin: 512, cout: 512, k: 3, stride: 1, padding: 'same', relu: true, bias: true }, 19, true);
    } finally {
      setWinograd(e, true);
    }
  });
});

describe('conv2d into a channel slice', () => {
  // Fire-module style: a 1×1 and a 3×3 convolution of one input written side by side into one poisoned tensor,
  // with the second slice starting at a multiple of 4 (vec4 stores) and not (scalar stores).
  for (const c1 of [8, 6]) {
    it(`1×1 → ${c1} channels and 3×3 → 12 channels concatenated`, async () => {
      const e = await testEngine();
      const [n, h, w, cin, c2] = [2, 5, 6, 8, 12];
      const x = randomArray(n * h * w * cin, 71);
      const w1 = randomArray(cin * c1, 72);
      const b1 = randomArray(c1, 73);
      const w2 = randomArray(9 * cin * c2, 74);
      const b2 = randomArray(c2, 75);
      const geo = (k: number, cout: number) => refConvGeometry({ n, h, w, cin, kh: k, kw: k, cout, stride: 1, padding: 'same' });
      const r1 = refConv2d(x, w1, b1, geo(1, c1), true);
      const r2 = refConv2d(x, w2, b2, geo(3, c2), true);
      const ref = new Float64Array(n * h * w * (c1 + c2));
      for (let p = 0; p < n * h * w; p++) {
        for (let c = 0; c < c1; c++) ref[p * (c1 + c2) + c] = r1[p * c1 + c]!;
        for (let c = 0; c < c2; c++) ref[p * (c1 + c2) + c1 + c] = r2[p * c2 + c]!;
      }
      const tx = e.upload(x, [n, h, w, cin]);
      const t = [e.upload(w1, [1, 1, cin, c1]), e.upload(b1, [c1]), e.upload(w2, [3, 3, cin, c2]), e.upload(b2, [c2])];
      const out = poisoned(e, [n, h, w, c1 + c2]);
      conv2dForward(e, tx, t[0]!, t[1]!, { relu: true, out, outChannelOffset: 0 });
      conv2dForward(e, tx, t[2]!, t[3]!, { relu: true, out, outChannelOffset: c1 });
      expectClose(await read(out), ref, FWD_TOL, 'concatenated output');
      expect(() => conv2dForward(e, tx, t[2]!, t[3]!, { out, outChannelOffset: c1 + 1 })).toThrow(/outChannelOffset/);
      for (const u of [tx, ...t, out]) u.dispose();
    });
  }
});

describe('conv2d on the autograd tape', () => {

  it('frozen filters and an input that needs no gradient dispatch no kernels for them', async () => {
    const e = await testEngine();
    const c: Case = { n: 2, h: 6, w: 5, cin: 4, cout: 8, k: 3, stride: 1, padding: 'same', relu: true, bias: true };
    const d = data(c, 61);
    const x = e.upload(d.x, [c.n, c.h, c.w, c.cin]);
    const w1 = e.upload(d.w, [3, 3, c.cin, c.cout]);
    const b1 = e.upload(d.b!, [c.cout]);
    const w2 = e.upload(randomArray(9 * c.cout * c.cout, 62, -0.3, 0.3), [3, 3, c.cout, c.cout]);
    const b2 = e.upload(randomArray(c.cout, 63), [c.cout]);
    // Only the second layer's bias trains: the second layer needs no filter gradient, the first layer nothing at all.
    b2.requiresGrad = true;
    b2.trainable = true;
    e.resetStats();
    e.tidy(() => {
      const y1 = conv2d(x, w1, b1, { relu: true });
      const y2 = conv2d(y1, w2, b2, { relu: true });
      e.tape.backward(y2, e.upload(randomArray(y2.size, 64), y2.shape));
    });
    expect(e.stats.dispatches.get('conv2d_fwd')).toBe(2);
    expect(e.stats.dispatches.get('conv2d_grad_filter') ?? 0).toBe(0);
    expect(e.stats.dispatches.get('conv2d_grad_input') ?? 0).toBe(0);
    expect(w1.grad).toBeNull();
    expect(w2.grad).toBeNull();
    expect(b1.grad).toBeNull();
    // The bias gradient is the column sum of the ReLU-masked upstream gradient.
    const h = refConv2d(d.x, d.w, d.b, geometry(c), true);
    const gy = randomArray(c.n * c.h * c.w * c.cout, 64);
    const ref = refConv2dBackward(h, await read(w2), await read(b2), gy, geometry({ ...c, cin: c.cout }), true);
    expectClose(await read(b2.grad!), ref.gb, GRAD_TOL, 'db2');
    for (const t of [x, w1, b1, w2, b2, b2.grad]) t?.dispose();
  });
});
