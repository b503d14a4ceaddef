import { expect, it } from 'vitest';
import { testEngine } from './helpers/engine.js';

it('times each kernel with timestamp queries', async () => {
  const e = await testEngine();
  if (!e.profiler.supported) return expect(() => e.profiler.start()).toThrow(/timestamp-query/);
  const n = 1 << 16;
  const code = (k: number) => `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= ${n}u) { return; }
  var v = x[g.x];
  for (var i = 0u; i < ${k}u; i++) { v = v * 1.0001 + 0.5; }
  x[g.x] = v;
}`;
  const t = e.full([n], 1);
  e.profiler.start();
  for (let i = 0; i < 3; i++) e.run({ name: 'light', code: code(1), bindings: [t], workgroups: [n / 64] });
  e.run({ name: 'heavy', code: code(4000), bindings: [t], workgroups: [n / 64] });
  await e.sync();
  const timings = await e.profiler.stop();
  const byName = new Map(timings.map((k) => [k.name, k]));
  expect(byName.get('light')?.calls).toBe(3);
  expect(byName.get('heavy')?.calls).toBe(1);
  expect(timings[0]?.name).toBe('heavy');
  expect(byName.get('heavy')!.totalMs).toBeGreaterThan(0);
  t.dispose();
});
