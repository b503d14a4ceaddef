import type { Conv2dPadding } from '../../src/kernels/conv2d.js';

/** One convolution test case: NHWC input n×h×w×cin, k×k filters to cout channels. */
export interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: 1 | 2;
  padding: Conv2dPadding;
  relu: boolean;
  bias: boolean;
}
