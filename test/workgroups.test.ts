import { describe, expect, it } from 'vitest';
import { BOOK_AUGMENTATION } from '../src/data/augment-params.js';
import { Engine } from '../src/engine/index.js';
import { forceGemmVariant } from '../src/kernels/gemm-variant.js';
import { forceNoSubgroups } from '../src/kernels/matmul.js';
import { createBackbone } from '../src/models/registry.js';
import type { BuiltinBackboneName } from '../src/models/types.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { BinaryMetrics } from '../src/nn/metrics.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { buildTransferModel } from '../src/train/model.js';
import { imageForward } from '../src/train/recipes.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

/** A WGSL integer literal (decimal or hex, optional i/u suffix), or NaN. */
function intLiteral(text: string): number {
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)[iu]?$/.exec(text.trim());
  return m ? Number(m[1]) : NaN;
}

/**
 * Invocations per workgroup of a WGSL module: the product of its `@workgroup_size` dimensions, each a literal or the
 * name of a module-scope `const`/`override` with a literal value; the smallest over its entry points. Anything else
 * (no attribute, an expression, an override without a default) throws, so no size is ever NaN.
 */
function invocations(code: string): number {
  const sizes = [...code.matchAll(/@workgroup_size\(([^)]*)\)/g)].map((m) =>
    m[1]!
      .split(',')
      .map((d) => d.trim())
      .filter((d) => d !== '')
      .reduce((a, d) => {
        let n = intLiteral(d);
        if (Number.isNaN(n) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d)) {
          const decl = new RegExp(`\\b(?:const|override)\\s+${d}\\s*(?::\\s*\\w+\\s*)?=\\s*([^;]+);`).exec(code);
          if (decl) n = intLiteral(decl[1]!);
        }
        if (!Number.isInteger(n) || n < 1) throw new Error(`cannot read the workgroup size '${m[1]}' (dimension '${d}') of\n${code.slice(0, 300)}`);
        return a * n;
      }, 1),
  );
  if (!sizes.length) throw new Error(`no @workgroup_size in\n${code.slice(0, 300)}`);
  return Math.min(...sizes);
}

describe('reading workgroup sizes', () => {
  it('multiplies literal and named dimensions; refuses what it cannot read', () => {
    expect(invocations('@compute @workgroup_size(8, 4) fn main() {}')).toBe(32);
    expect(invocations('@compute @workgroup_size(64u, 1u, 1) fn main() {}')).toBe(64);
    expect(invocations('@compute @workgroup_size(0x10) fn main() {}')).toBe(16);
    expect(invocations('const WG: u32 = 16u;\noverride H = 2;\n@compute @workgroup_size(WG, H) fn main() {}')).toBe(32);
    expect(invocations('@compute @workgroup_size(64) fn a() {}\n@compute @workgroup_size(8) fn b() {}')).toBe(8);
    expect(() => invocations('@compute @workgroup_size(WG) fn main() {}')).toThrow(/cannot read the workgroup size 'WG'/);
    expect(() => invocations('override WG: u32;\n@compute @workgroup_size(WG) fn main() {}')).toThrow(/cannot read/);
    expect(() => invocations('@compute @workgroup_size(2 * 16) fn main() {}')).toThrow(/cannot read/);
    expect(() => invocations('fn main() {}')).toThrow(/no @workgroup_size/);
  });
});

describe('workgroup sizes on a GPU adapter', () => {
  it('no kernel of a training step dispatches workgroups under 32 invocations on a non-fallback adapter', { timeout: 900_000 }, async () => {
    const real = await testEngine();
    // The same device, described as a discrete GPU: every choice that depends on the adapter takes its GPU branch.
    const e = Engine.fromDevice(real.device, real.adapter, { ...real.info, isFallbackAdapter: false, description: 'fake discrete GPU' });
    const rng = new Rng(1);
    const pixels = Uint8Array.from({ length: 2 * 32 * 32 * 3 }, () => rng.int(256));
    const step = async (engine: Engine, name: BuiltinBackboneName): Promise<void> => {
      const bb = createBackbone(name, engine, { inputSize: 32, seed: 0, logger: { warn: () => {} } });
      const model = buildTransferModel(engine, bb.model, 32, 0, { dropout: true });
      model.trainOnly([...bb.topLayerNames, 'dense_1', 'dense_2']);
      const opt = new RMSprop(model.trainableParams(), { lr: 1e-3 });
      const metrics = new BinaryMetrics(engine);
      const forward = imageForward(engine, model, bb.defaultPreprocess, BOOK_AUGMENTATION);
      const x = engine.upload(pixels, [2, 32, 32, 3], 'u8');
      const y = engine.upload(new Float32Array([0, 1]), [2]);
      engine.tidy(() => {
        const logits = forward(x, { training: true, seed: 1, epoch: 0, step: 0 });
        const loss = bceWithLogits(logits, y);
        metrics.add(logits, y, loss);
        engine.tape.backward(loss);
        opt.step();
        opt.zeroGrad();
      });
      await engine.sync();
      for (const t of [x, y]) t.dispose();
      for (const o of [metrics, opt, model]) o.dispose();
    };
    // SqueezeNet (Fire concat, Winograd, max-pool, GAP) and MobileNetV2 (depthwise, ReLU6, padding); VGG16 adds no
    // other kernel family and costs minutes on a software adapter.
    for (const name of ['squeezenet1_1', 'mobilenet_v2'] as BuiltinBackboneName[]) await step(e, name);
    const small = (engine: Engine): string[] => [...engine.pipelines.entries()].filter((k) => invocations(k.code) < 32).map((k) => `${k.name} (${invocations(k.code)})`);
    expect(e.pipelines.size).toBeGreaterThan(20);
    expect(small(e)).toEqual([]);
    // The check can fail, on any adapter: the same step with the one-subgroup GEMMs forced in their 8-lane form (as on
    // an adapter without a fixed subgroup size) builds workgroups of 8 invocations, and the check lists them.
    const narrow = Engine.fromDevice(real.device, real.adapter, { ...real.info, isFallbackAdapter: false, description: 'fake GPU, narrow GEMMs forced' });
    forceGemmVariant(narrow, 'lanes');
    forceNoSubgroups(narrow, true);
    await step(narrow, 'squeezenet1_1');
    const flagged = small(narrow);
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.every((k) => k.endsWith(' (8)')), flagged.join(', ')).toBe(true);
  });
});
