import { describe, expect, it } from 'vitest';
import { concatChannelsForward } from '../src/kernels/concat.js';
import { refConcatChannels } from '../src/reference/concat.js';
import { concatChannels } from '../src/nn/functional/index.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, poisoned, randomArray } from './helpers/small-ops.js';

describe('channel concatenation', () => {

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

});
