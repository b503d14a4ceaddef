import { describe, expect, it } from 'vitest';
import { GpuError, sizeClass } from '../src/engine/index.js';
import { testEngine } from './helpers/engine.js';

describe('engine core on the real adapter', () => {
  it('round-trips each dtype at odd sizes', async () => {
    const e = await testEngine();
    for (const n of [1, 3, 5, 7, 1023, 65537]) {
      const f = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
      const u = Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0);
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 255);
      const tf = e.upload(f, [n]);
      const tu = e.upload(u, [n]);
      const tb = e.upload(b, [n]);
      expect(Array.from(await tf.read())).toEqual(Array.from(f));
      expect(Array.from(await tu.read())).toEqual(Array.from(u));
      expect(Array.from(await tb.read())).toEqual(Array.from(b));
      expect(tb.dtype).toBe('u8');
      tf.dispose();
      tu.dispose();
      tb.dispose();
    }
  });

  it('reshape and flatten are views over one buffer', async () => {
    const e = await testEngine();
    const t = e.upload(new Float32Array(24).map((_, i) => i), [2, 3, 4]);
    const before = e.pool.counters.liveBuffers;
    const v = t.flatten();
    expect(v.shape).toEqual([2, 12]);
    expect(v.buffer).toBe(t.buffer);
    expect(e.pool.counters.liveBuffers).toBe(before);
    t.dispose();
    expect(Array.from(await v.read())).toEqual(Array.from({ length: 24 }, (_, i) => i));
    v.dispose();
    expect(e.pool.counters.liveBuffers).toBe(before - 1);
    expect(() => t.reshape([5, 5])).toThrow(/after dispose/);
  });

  it('reuses pooled buffers by size class', async () => {
    const e = await testEngine();
    expect(sizeClass(1000)).toBe(1024);
    expect(sizeClass(100_000)).toBe(114688);
    const a = e.empty([1000]);
    const buf = a.buffer;
    a.dispose();
    const reusedBefore = e.pool.counters.reused;
    const b = e.empty([990]);
    expect(b.buffer).toBe(buf);
    expect(e.pool.counters.reused).toBe(reusedBefore + 1);
    b.dispose();
  });

  it('a scope returns live buffers and bytes to their starting counts', async () => {
    const e = await testEngine();
    const start = { ...e.pool.counters };
    const kept = e.tidy(() => {
      const xs = [1, 2, 3].map((k) => e.full([100 * k], k));
      const inner = e.tidy(() => e.full([7], 7));
      expect(e.pool.counters.liveBuffers).toBe(start.liveBuffers + 4);
      return { inner, other: xs[0]! };
    });
    expect(e.pool.counters.liveBuffers).toBe(start.liveBuffers + 2);
    expect(Array.from(await kept.inner.read())).toEqual(Array(7).fill(7));
    kept.inner.dispose();
    kept.other.dispose();
    expect(e.pool.counters.liveBuffers).toBe(start.liveBuffers);
    expect(e.pool.counters.liveBytes).toBe(start.liveBytes);
  });

  it('hits the pipeline cache on a repeated kernel', async () => {
    const e = await testEngine();
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < 10u) { x[g.x] = x[g.x] * 2.0; } }`;
    const t = e.upload(new Float32Array(10).fill(1.5), [10]);
    const misses = e.pipelines.misses;
    const hits = e.pipelines.hits;
    e.run({ name: 'double', code, bindings: [t], workgroups: [1] });
    e.run({ name: 'double', code, bindings: [t], workgroups: [1] });
    expect(e.pipelines.misses).toBe(misses + 1);
    expect(e.pipelines.hits).toBe(hits + 1);
    expect(Array.from(await t.read())).toEqual(Array(10).fill(6));
    t.dispose();
  });

  it('writes after recorded work are ordered after it', async () => {
    const e = await testEngine();
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < 4u) { x[g.x] = x[g.x] + 1.0; } }`;
    const t = e.upload([1, 2, 3, 4], [4]);
    e.run({ name: 'inc', code, bindings: [t], workgroups: [1] });
    e.write(t, [10, 20, 30, 40]);
    e.run({ name: 'inc', code, bindings: [t], workgroups: [1] });
    expect(Array.from(await t.read())).toEqual([11, 21, 31, 41]);
    t.dispose();
  });

  it('a buffer released over the free-memory cap outlives the unsubmitted commands that use it', async () => {
    const e = await testEngine();
    const cap = e.pool.maxFreeBytes;
    e.pool.maxFreeBytes = 0;
    try {
      const code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < 4u) { b[g.x] = b[g.x] + a[g.x]; } }`;
      const out = e.full([4], 0);
      for (let i = 1; i <= 3; i++) {
        // Released (and over the cap) right after being recorded, before any submit.
        const tmp = e.upload([i, i, i, i], [4]);
        e.run({ name: 'accumulate', code, bindings: [tmp, out], workgroups: [1] });
        tmp.dispose();
      }
      expect(Array.from(await out.read())).toEqual([6, 6, 6, 6]);
      out.dispose();
    } finally {
      e.pool.maxFreeBytes = cap;
    }
  });

  it('turns an invalid dispatch into a thrown error naming the kernel', async () => {
    const e = await testEngine();
    const t = e.full([4], 0);
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(1) fn main() { x[0] = 1.0; }`;
    expect(() => e.run({ name: 'too_many_groups', code, bindings: [t], workgroups: [1e6] })).toThrow(/too_many_groups.*workgroup count/);
    const broken = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(1) fn main() { x[0] = undefined_symbol; }`;
    e.run({ name: 'broken_kernel', code: broken, bindings: [t], workgroups: [1] });
    const err = await t.read().then(
      () => null,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(GpuError);
    expect(String((err as Error).message)).toMatch(/broken_kernel/);
    // the engine stays usable after a reported error
    const u = e.upload([5], [1]);
    expect(Array.from(await u.read())).toEqual([5]);
    t.dispose();
    u.dispose();
  });
});
