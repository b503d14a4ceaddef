/** Float64 reference of channel (last-axis) concatenation and its backward. */

export function refConcatChannels(xs: ArrayLike<number>[], channels: number[], positions: number): Float64Array {
  const total = channels.reduce((a, c) => a + c, 0);
  const y = new Float64Array(positions * total);
  let offset = 0;
  xs.forEach((x, k) => {
    const ck = channels[k]!;
    for (let p = 0; p < positions; p++) for (let c = 0; c < ck; c++) y[p * total + offset + c] = x[p * ck + c]!;
    offset += ck;
  });
  return y;
}

/** The gradient of each input: its channel slice of gy. */
export function refConcatChannelsBackward(gy: ArrayLike<number>, channels: number[], positions: number): Float64Array[] {
  const total = channels.reduce((a, c) => a + c, 0);
  let offset = 0;
  return channels.map((ck) => {
    const g = new Float64Array(positions * ck);
    for (let p = 0; p < positions; p++) for (let c = 0; c < ck; c++) g[p * ck + c] = gy[p * total + offset + c]!;
    offset += ck;
    return g;
  });
}
