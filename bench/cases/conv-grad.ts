// The gradients of block5's conv (9×9×512 → 512, the layers fine-tuning trains) w.r.t. its input and its filter,
// at the training batch: each implementation's backward kernel called directly — ours from src/kernels/conv2d,
// TF.js's Conv2DBackpropInput / Conv2DBackpropFilter (the wasm backend has no Conv2DBackpropFilter; its
// Conv3DBackpropFilterV2 on a depth-1 volume computes the same thing).
import type * as TF from '@tensorflow/tfjs';
import type { Engine } from '../../src/engine/index.js';
import { conv2dGeometry, conv2dGradFilter, conv2dGradInput } from '../../src/kernels/conv2d.js';
import { lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide, type HostInput } from '../sides.js';
import type { TfjsHandle } from '../tfjs-setup.js';
import type { CaseDef, Side } from './types.js';
import { convFlops, VGG16_CONVS, weightsOf } from './vgg16-spec.js';

type Wrt = 'input' | 'filter';

export function convGradCases(quick: boolean): CaseDef[] {
  const l = VGG16_CONVS.find((c) => c.name === 'block5_conv2')!;
  const batch = quick ? 2 : 20;
  const { size: s, cin, cout } = l;
  const inputs = lazy(() => ({
    x: { data: uniform(batch * s * s * cin, 0, 1, 801), shape: [batch, s, s, cin] },
    w: { data: weightsOf(l.name).w, shape: [3, 3, cin, cout] },
    dy: { data: uniform(batch * s * s * cout, -1, 1, 802), shape: [batch, s, s, cout] },
  }));
  return (['input', 'filter'] as const).map((wrt) => ({
    name: `conv_grad_${wrt}_block5_b${batch}`,
    fullName: `conv_grad_${wrt}_block5_b20`,
    group: 'conv_grad',
    batch,
    shape:
      wrt === 'input'
        ? `dy [${batch},${s},${s},${cout}] * w [3,3,${cin},${cout}] -> dx [${batch},${s},${s},${cin}]`
        : `x [${batch},${s},${s},${cin}] * dy [${batch},${s},${s},${cout}] -> dw [3,3,${cin},${cout}]`,
    flops: convFlops(l, batch),
    images: batch,
    tolerance: 1e-3,
    ours: (ctx) => oursGrad(ctx.engine, wrt, inputs()),
    tfjs: (ctx, backend) => tfjsGrad(ctx.tfjs, backend, wrt, inputs()),
  }));
}

function oursGrad(e: Engine, wrt: Wrt, h: { x: HostInput; w: HostInput; dy: HostInput }): Side {
  const g = conv2dGeometry(h.x.shape, h.w.shape, 1, 'same');
  return oursSide(e, [h.x, h.w, h.dy], ([x, w, dy]) => (wrt === 'input' ? conv2dGradInput(e, dy!, w!, g) : conv2dGradFilter(e, x!, dy!, g)));
}

function tfjsGrad(h: TfjsHandle, backend: 'webgpu' | 'wasm', wrt: Wrt, host: { x: HostInput; w: HostInput; dy: HostInput }): Side {
  const tf = h.tf;
  const filterShape = host.w.shape as [number, number, number, number];
  return tfjsSide(h, backend, [host.x, host.w, host.dy], (ts) => {
    const [x, w, dy] = ts as [TF.Tensor4D, TF.Tensor4D, TF.Tensor4D];
    if (wrt === 'input') return tf.conv2dTranspose(dy, w, x.shape, 1, 'same');
    if (backend === 'webgpu') {
      return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape } as never) as TF.Tensor;
    }
    // wasm: the same gradient as a 3-D conv over a depth-1 volume.
    const [n, hh, ww, c] = x.shape;
    const x5 = x.reshape([n, 1, hh, ww, c]);
    const dy5 = dy.reshape([n, 1, dy.shape[1], dy.shape[2], dy.shape[3]]);
    const dw5 = tf.engine().runKernel('Conv3DBackpropFilterV2', { x: x5, dy: dy5 }, { strides: [1, 1, 1], pad: 'same', filterShape: [1, ...filterShape] } as never) as TF.Tensor;
    return dw5.reshape(filterShape);
  });
}
