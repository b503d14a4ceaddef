/** Float64 reference of softmax over the last axis (rows of `len`) and its backward from the input. */
export function refSoftmax(x: ArrayLike<number>, len: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += len) {
    let m = -Infinity;
    for (let j = 0; j < len; j++) m = Math.max(m, x[base + j]!);
    let s = 0;
    for (let j = 0; j < len; j++) s += (y[base + j] = Math.exp(x[base + j]! - m));
    for (let j = 0; j < len; j++) y[base + j]! /= s;
  }
  return y;
}

/** gx = y · (gy − Σ_row gy·y) with y = softmax(x). */
export function refSoftmaxBackward(x: ArrayLike<number>, gy: ArrayLike<number>, len: number): Float64Array {
  const y = refSoftmax(x, len);
  const gx = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += len) {
    let d = 0;
    for (let j = 0; j < len; j++) d += gy[base + j]! * y[base + j]!;
    for (let j = 0; j < len; j++) gx[base + j] = y[base + j]! * (gy[base + j]! - d);
  }
  return gx;
}

/** log softmax(x) over rows of `len`: x − max − log Σ e^(x − max). */
export function refLogSoftmax(x: ArrayLike<number>, len: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += len) {
    let m = -Infinity;
    for (let j = 0; j < len; j++) m = Math.max(m, x[base + j]!);
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(x[base + j]! - m);
    const shift = m + Math.log(s);
    for (let j = 0; j < len; j++) y[base + j] = x[base + j]! - shift;
  }
  return y;
}

/** gx = gy − softmax(x) · Σ_row gy. */
export function refLogSoftmaxBackward(x: ArrayLike<number>, gy: ArrayLike<number>, len: number): Float64Array {
  const p = refSoftmax(x, len);
  const gx = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += len) {
    let d = 0;
    for (let j = 0; j < len; j++) d += gy[base + j]!;
    for (let j = 0; j < len; j++) gx[base + j] = gy[base + j]! - p[base + j]! * d;
  }
  return gx;
}
