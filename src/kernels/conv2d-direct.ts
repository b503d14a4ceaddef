/**
 * Direct 2-D convolution, NHWC, filters HWIO [KH, KW, Cin, Cout]: the fallback for the convolutions the fast conv2d
 * kernels cannot run — any strides, dilations, explicit zero pads [top, bottom, left, right], any KH×KW, Cin and
 * Cout, optional bias and fused ReLU. Plain loops, one invocation per output element (forward), per input element
 * (gradient of the input: the taps that reach it, found by inverting the window with a divisibility test on the
 * stride) and per filter element (gradient of the filter: a sum over N·OH·OW). The bias gradient is a column sum of
 * the upstream gradient; with ReLU the upstream gradient is first masked by y > 0 (once, for every gradient).
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, flatIndex, grid } from './common.js';
import { columnSums } from './reduce.js';
import { windowGeometry, windowKey, type Window2d, type WindowGeometry } from './window.js';

/** The window of a direct convolution (pads are zeros). */
export type Conv2dDirectWindow = Window2d;

/** Input [n, h, w, c = Cin], window, output oh × ow × cout. */
export interface Conv2dDirectGeometry extends WindowGeometry {
  cout: number;
}

const WG = 64;

/** Checks the input, filter and window and sizes the output. */
export function conv2dDirectGeometry(xShape: readonly number[], wShape: readonly number[], win: Conv2dDirectWindow): Conv2dDirectGeometry {
  if (xShape.length === 4 && xShape.some((d) => d < 1)) throw new Error(`conv2d general: empty input [${xShape.join(', ')}]`);
  const g = windowGeometry(xShape, win, false, 'conv2d general');
  const [kh, kw, cin, cout] = wShape;
  if (wShape.length !== 4 || kh !== g.kh || kw !== g.kw || cin !== g.c || !(cout! >= 1)) {
    throw new Error(`conv2d general: filter must be [${g.kh}, ${g.kw}, ${g.c}, Cout], got [${wShape.join(', ')}]`);
  }
  return { ...g, cout: cout! };
}

const key = (g: Conv2dDirectGeometry): string => `${windowKey(g)},co${g.cout}`;

function checkSize(t: Tensor, size: number, what: string): void {
  if (t.size !== size || t.dtype !== 'f32') throw new Error(`${what}: tensor [${t.shape.join(', ')}] ${t.dtype} does not hold ${size} f32 values`);
}

function bindings(decls: readonly [string, 'read' | 'read_write'][]): string {
  return decls.map(([name, access], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<f32>;`).join('\n');
}

// ------------------------------------------------------------------ forward

function forwardCode(g: Conv2dDirectGeometry, hasBias: boolean, relu: boolean): string {
  const decls: [string, 'read' | 'read_write'][] = [['x', 'read'], ['wt', 'read']];
  if (hasBias) decls.push(['bias', 'read']);
  decls.push(['y', 'read_write']);
  return `${bindings(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.oh * g.ow * g.cout}u) { return; }
  let co = i % ${g.cout}u;
  let p = i / ${g.cout}u;
  let ox = p % ${g.ow}u;
  let oy = (p / ${g.ow}u) % ${g.oh}u;
  let n = p / ${g.ow * g.oh}u;
  var acc: f32 = ${hasBias ? 'bias[co]' : '0.0'};
  for (var ky = 0u; ky < ${g.kh}u; ky++) {
    let iy = i32(oy * ${g.sh}u + ky * ${g.dh}u) - ${g.pt};
    if (iy >= 0 && iy < ${g.h}) {
      for (var kx = 0u; kx < ${g.kw}u; kx++) {
        let ix = i32(ox * ${g.sw}u + kx * ${g.dw}u) - ${g.pl};
        if (ix >= 0 && ix < ${g.w}) {
          let xb = ((n * ${g.h}u + u32(iy)) * ${g.w}u + u32(ix)) * ${g.c}u;
          let wb = (ky * ${g.kw}u + kx) * ${g.c * g.cout}u + co;
          for (var ci = 0u; ci < ${g.c}u; ci++) { acc += x[xb + ci] * wt[wb + ci * ${g.cout}u]; }
        }
      }
    }
  }
  y[i] = ${relu ? 'max(acc, 0.0)' : 'acc'};
}`;
}

/** y = [relu](conv(x, w) + b). x [N,H,W,Cin], w [KH,KW,Cin,Cout], b [Cout] or null → y [N,OH,OW,Cout]. */
export function conv2dDirectForward(e: Engine, x: Tensor, w: Tensor, b: Tensor | null, win: Conv2dDirectWindow, relu: boolean, out?: Tensor): Tensor {
  const g = conv2dDirectGeometry(x.shape, w.shape, win);
  if (b && b.size !== g.cout) throw new Error(`conv2d general: bias must have ${g.cout} values, got [${b.shape.join(', ')}]`);
  const y = out ?? e.empty([g.n, g.oh, g.ow, g.cout], 'f32', 'conv2d_direct_fwd');
  checkSize(y, g.n * g.oh * g.ow * g.cout, 'conv2d general forward');
  e.run({
    name: 'conv2d_direct_fwd',
    key: `conv2d_direct_fwd:${key(g)},${b !== null ? 1 : 0},${relu ? 1 : 0}`,
    code: () => forwardCode(g, b !== null, relu),
    bindings: b ? [x, w, b, y] : [x, w, y],
    workgroups: grid(g.n * g.oh * g.ow * g.cout, WG),
  });
  return y;
}

// ------------------------------------------------------------------ ReLU mask

function maskCode(size: number): string {
  return `${bindings([['gy', 'read'], ['y', 'read'], ['gz', 'read_write']])}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${size}u) { return; }
  gz[i] = select(0.0, gy[i], y[i] > 0.0);
}`;
}

/** gz = gy · [y > 0]: the upstream gradient through the fused ReLU. */
export function conv2dDirectReluMask(e: Engine, gy: Tensor, y: Tensor): Tensor {
  checkSize(y, gy.size, 'conv2d general relu mask (output)');
  const gz = e.empty(gy.shape, 'f32', 'conv2d_direct_mask');
  e.run({ name: 'conv2d_direct_mask', key: `conv2d_direct_mask:${gy.size}`, code: () => maskCode(gy.size), bindings: [gy, y, gz], workgroups: grid(gy.size, WG) });
  return gz;
}

// ------------------------------------------------------------------ gradient of the input

/** One invocation per input element (n, iy, ix, ci): Σ over the taps (ky, kx) and output channels that read it. */
function gradInputCode(g: Conv2dDirectGeometry): string {
  const axis = (t: string, stride: number): string => (stride === 1 ? `${t} >= 0` : `${t} >= 0 && u32(${t}) % ${stride}u == 0u`);
  return `${bindings([['gz', 'read'], ['wt', 'read'], ['gx', 'read_write']])}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.h * g.w * g.c}u) { return; }
  let ci = i % ${g.c}u;
  let p = i / ${g.c}u;
  let ix = i32(p % ${g.w}u);
  let iy = i32((p / ${g.w}u) % ${g.h}u);
  let n = p / ${g.w * g.h}u;
  var acc: f32 = 0.0;
  for (var ky = 0u; ky < ${g.kh}u; ky++) {
    let ty = iy + ${g.pt} - i32(ky * ${g.dh}u);
    if (${axis('ty', g.sh)}) {
      let oy = u32(ty) / ${g.sh}u;
      if (oy < ${g.oh}u) {
        for (var kx = 0u; kx < ${g.kw}u; kx++) {
          let tx = ix + ${g.pl} - i32(kx * ${g.dw}u);
          if (${axis('tx', g.sw)}) {
            let ox = u32(tx) / ${g.sw}u;
            if (ox < ${g.ow}u) {
              let ob = ((n * ${g.oh}u + oy) * ${g.ow}u + ox) * ${g.cout}u;
              let wb = ((ky * ${g.kw}u + kx) * ${g.c}u + ci) * ${g.cout}u;
              for (var co = 0u; co < ${g.cout}u; co++) { acc += gz[ob + co] * wt[wb + co]; }
            }
          }
        }
      }
    }
  }
  gx[i] = acc;
}`;
}

/** dL/dx [N,H,W,Cin] from gz (dL/dy already through the ReLU) and w. */
export function conv2dDirectGradInput(e: Engine, gz: Tensor, w: Tensor, xShape: readonly number[], win: Conv2dDirectWindow, out?: Tensor): Tensor {
  const g = conv2dDirectGeometry(xShape, w.shape, win);
  checkSize(gz, g.n * g.oh * g.ow * g.cout, 'conv2d general grad-input (upstream gradient)');
  const gx = out ?? e.empty(xShape, 'f32', 'conv2d_direct_grad_input');
  checkSize(gx, g.n * g.h * g.w * g.c, 'conv2d general grad-input');
  e.run({
    name: 'conv2d_direct_grad_input',
    key: `conv2d_direct_grad_input:${key(g)}`,
    code: () => gradInputCode(g),
    bindings: [gz, w, gx],
    workgroups: grid(g.n * g.h * g.w * g.c, WG),
  });
  return gx;
}

// ------------------------------------------------------------------ gradient of the filter

/** One invocation per filter element (ky, kx, ci, co): Σ over N·OH·OW of gz · x at the tap. */
function gradFilterCode(g: Conv2dDirectGeometry): string {
  return `${bindings([['gz', 'read'], ['x', 'read'], ['gw', 'read_write']])}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.kh * g.kw * g.c * g.cout}u) { return; }
  let co = i % ${g.cout}u;
  let ci = (i / ${g.cout}u) % ${g.c}u;
  let tap = i / ${g.c * g.cout}u;
  let kx = tap % ${g.kw}u;
  let ky = tap / ${g.kw}u;
  var acc: f32 = 0.0;
  for (var n = 0u; n < ${g.n}u; n++) {
    for (var oy = 0u; oy < ${g.oh}u; oy++) {
      let iy = i32(oy * ${g.sh}u + ky * ${g.dh}u) - ${g.pt};
      if (iy >= 0 && iy < ${g.h}) {
        for (var ox = 0u; ox < ${g.ow}u; ox++) {
          let ix = i32(ox * ${g.sw}u + kx * ${g.dw}u) - ${g.pl};
          if (ix >= 0 && ix < ${g.w}) {
            acc += gz[((n * ${g.oh}u + oy) * ${g.ow}u + ox) * ${g.cout}u + co] * x[((n * ${g.h}u + u32(iy)) * ${g.w}u + u32(ix)) * ${g.c}u + ci];
          }
        }
      }
    }
  }
  gw[i] = acc;
}`;
}

/** dL/dw [KH,KW,Cin,Cout] from gz (dL/dy already through the ReLU) and x. */
export function conv2dDirectGradFilter(e: Engine, gz: Tensor, x: Tensor, wShape: readonly number[], win: Conv2dDirectWindow, out?: Tensor): Tensor {
  const g = conv2dDirectGeometry(x.shape, wShape, win);
  checkSize(gz, g.n * g.oh * g.ow * g.cout, 'conv2d general grad-filter (upstream gradient)');
  const gw = out ?? e.empty(wShape, 'f32', 'conv2d_direct_grad_filter');
  checkSize(gw, g.kh * g.kw * g.c * g.cout, 'conv2d general grad-filter');
  e.run({
    name: 'conv2d_direct_grad_filter',
    key: `conv2d_direct_grad_filter:${key(g)}`,
    code: () => gradFilterCode(g),
    bindings: [gz, x, gw],
    workgroups: grid(g.kh * g.kw * g.c * g.cout, WG),
  });
  return gw;
}

/**
 * The gradients that are asked for of y = [relu](conv(x, w) + b): `x` is needed for the filter gradient, `w` for
 * the input gradient, `y` for the ReLU mask; the others may be null.
 */
export function conv2dDirectBackward(
  e: Engine,
  gy: Tensor,
  saved: { x: Tensor | null; w: Tensor | null; y: Tensor | null },
  shapes: { x: readonly number[]; w: readonly number[] },
  win: Conv2dDirectWindow,
  relu: boolean,
  want: { input: boolean; filter: boolean; bias: boolean },
): { gx: Tensor | null; gw: Tensor | null; gb: Tensor | null } {
  if (!want.input && !want.filter && !want.bias) return { gx: null, gw: null, gb: null };
  if (relu && !saved.y) throw new Error('conv2d general backward: the forward output is needed to mask the ReLU');
  if (want.input && !saved.w) throw new Error('conv2d general backward: the filter is needed for the input gradient');
  if (want.filter && !saved.x) throw new Error('conv2d general backward: the input is needed for the filter gradient');
  const g = conv2dDirectGeometry(shapes.x, shapes.w, win);
  const gz = relu ? conv2dDirectReluMask(e, gy, saved.y!) : gy;
  try {
    const gx = want.input ? conv2dDirectGradInput(e, gz, saved.w!, shapes.x, win) : null;
    const gw = want.filter ? conv2dDirectGradFilter(e, gz, saved.x!, shapes.w, win) : null;
    const gb = want.bias ? columnSums(e, gz, g.cout) : null;
    return { gx, gw, gb };
  } finally {
    if (gz !== gy) gz.dispose();
  }
}
