import { describe, expect, it } from 'vitest';
import { bceWithLogitsForward } from '../src/kernels/loss.js';
import { refBceWithLogits } from '../src/reference/loss.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL } from './helpers/small-ops.js';

describe('binary cross-entropy from logits', () => {

  it('stays accurate for confident predictions (tiny losses, no overflow at |z| = 100)', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const zData = Float32Array.from([20, -20, 17.5, -25, 100, -100, 16]);
      const right = Float32Array.from(zData, (v) => (v > 0 ? 1 : 0));
      const wrong = Float32Array.from(right, (v) => 1 - v);
      for (const yData of [right, wrong]) {
        const loss = bceWithLogitsForward(e, e.upload(zData, [7]), e.upload(yData, [7]));
        expectClose(await loss.readF32(), [refBceWithLogits(zData, yData)], FWD_TOL, 'loss');
      }
    });
  });

  it('refuses mismatched logits and labels', async () => {
    const e = await testEngine();
    e.tidy(() => expect(() => bceWithLogits(e.full([4, 1], 0), e.full([5], 0))).toThrow(/labels/));
  });
});
