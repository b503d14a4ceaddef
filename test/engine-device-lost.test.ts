import { expect, it } from 'vitest';
import { Engine, GpuError } from '../src/engine/index.js';

it('reports a lost device as a thrown error instead of hanging', async () => {
  const e = await Engine.create();
  const t = e.upload([1, 2, 3], [3]);
  const pending = t.read();
  e.device.destroy();
  const outcome = await Promise.race([
    pending.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    new Promise((r) => setTimeout(() => r('hung'), 10_000)),
  ]);
  // The read either completed before the loss or failed with a GpuError; it never hangs.
  expect(outcome === 'resolved' || outcome instanceof GpuError).toBe(true);
  await new Promise((r) => setTimeout(r, 50));
  expect(e.lost).toBe(true);
  expect(() => e.upload([1], [1])).toThrow(/device lost/);
});
