import { describe, expect, it } from 'vitest';
import { concatChannelsForward, sliceChannels } from '../src/kernels/concat.js';
import { refConcatChannels, refConcatChannelsBackward } from '../src/reference/concat.js';
import { concatChannels } from '../src/nn/functional/index.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, GRAD_TOL, poisoned, randomArray, size } from './helpers/small-ops.js';

describe('channel concatenation', () => {
  for (const [lead, channels] of [
    [[3, 7, 5], [3, 5]],
    [[2, 4, 3], [1, 6, 2]],
    [[1, 13, 13], [64, 64]],
    [[1, 55, 55], [64, 64]],
    [[4], [7]],
  ] as [number[], number[]][]) {
    it(`forward and backward: [${lead}] × channels ${channels.join(' + ')}`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const positions = size(lead);
        const total = channels.reduce((a, c) => a + c, 0);
        const datas = channels.map((c, k) => randomArray(positions * c, 10 + k));
        const xs = channels.map((c, k) => e.upload(datas[k]!, [...lead, c]));
        const y = concatChannelsForward(e, xs, poisoned(e, [...lead, total]));
        expect(y.shape).toEqual([...lead, total]);
        expectClose(await y.readF32(), refConcatChannels(datas, channels, positions), FWD_TOL, 'forward');
        const gyData = randomArray(positions * total, 20);
        const gy = e.upload(gyData, [...lead, total]);
        const refGrads = refConcatChannelsBackward(gyData, channels, positions);
        let offset = 0;
        for (const [k, c] of channels.entries()) {
          const g = sliceChannels(e, gy, offset, c, poisoned(e, [...lead, c]));
          expectClose(await g.readF32(), refGrads[k]!, GRAD_TOL, `gradient of input ${k}`);
          offset += c;
        }
      });
    });
  }

  it('places inputs one at a time when there are more than a shader may bind', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const lead = [2, 3];
      const channels = Array.from({ length: e.device.limits.maxStorageBuffersPerShaderStage + 1 }, (_, k) => 1 + (k % 3));
      const total = channels.reduce((a, c) => a + c, 0);
      const datas = channels.map((c, k) => randomArray(6 * c, 40 + k));
      const y = concatChannelsForward(e, channels.map((c, k) => e.upload(datas[k]!, [...lead, c])), poisoned(e, [...lead, total]));
      expectClose(await y.readF32(), refConcatChannels(datas, channels, 6), FWD_TOL, 'forward');
    });
  });

  it('refuses inputs whose leading dimensions differ', async () => {
    const e = await testEngine();
    e.tidy(() => expect(() => concatChannels([e.full([1, 2, 2, 3], 0), e.full([1, 2, 3, 3], 0)])).toThrow(/differ/));
  });

  it('backpropagates only to the inputs that need a gradient', async () => {
    const e = await testEngine();
    const lead = [2, 3, 3];
    const a = e.upload(randomArray(18 * 4, 30), [...lead, 4]);
    const b = e.upload(randomArray(18 * 5, 31), [...lead, 5]);
    b.requiresGrad = true;
    const wData = randomArray(18 * 9, 32);
    e.tidy(() => {
      // loss = Σ w·concat(a, b): the gradient of b is its slice of w.
      const y = concatChannels([a, b]);
      const w = e.upload(wData, [...lead, 9]);
      e.tape.backward(y, w);
    });
    expect(a.grad).toBeNull();
    expectClose(await b.grad!.readF32(), refConcatChannelsBackward(wData, [4, 5], 18)[1]!, GRAD_TOL, 'gradient of b');
    for (const t of [a, b, b.grad!]) t.dispose();
  });
});
