import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type Tensor } from '../src/engine/index.js';
import { apply, OPS, type OpCase, type OpDef, type RefTensor } from '../src/nn/ops/index.js';
import { Rng } from '../src/util/rng.js';
import { dot, expectClose } from './helpers/small-ops.js';

/*
 * The one test of every differentiable op: each entry of the op table (src/nn/ops) runs each of its cases on the GPU
 * (inference path and recorded path) against its float64 reference forward and backward, and the reference backward
 * is checked against central finite differences of the reference forward. An op is tested by being registered.
 */

const FD_SAMPLES = 16;
const FD_STEP = 1e-6;
const FD_TOL = 1e-6;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- entries differ in their attributes
type AnyOp = OpDef<any>;

interface CaseData {
  host: (Float32Array | null)[];
  ref: (RefTensor | null)[];
  /** Which inputs the case differentiates. */
  grad: boolean[];
  gy: Float64Array;
  y: RefTensor;
}

function caseData(op: AnyOp, c: OpCase<unknown>, seed: number): CaseData {
  const host = c.inputs.map((inp, i) => {
    if (!inp.shape) return null;
    const n = inp.shape.reduce((a, d) => a * d, 1);
    const rng = new Rng(seed * 101 + i);
    return inp.gen ? inp.gen(n, rng) : Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  });
  const ref = host.map((h, i) => (h ? { data: Float64Array.from(h), shape: [...c.inputs[i]!.shape!] } : null));
  const y = op.reference.forward(ref, c.attrs);
  const rng = new Rng(seed * 101 + 99);
  const gy = Float64Array.from({ length: y.data.length }, () => rng.uniform(-1, 1));
  return { host, ref, grad: c.inputs.map((inp) => inp.shape !== null && inp.grad !== false), gy, y };
}

/** Runs the op with the inputs in `needs` requiring a gradient; returns the output and each input's gradient. */
async function runGpu(e: Engine, op: AnyOp, c: OpCase<unknown>, d: CaseData, needs: boolean[]): Promise<{ y: Float32Array; grads: (Float32Array | null)[] }> {
  const inputs = d.host.map((h, i) => (h ? e.upload(h, c.inputs[i]!.shape!) : null));
  inputs.forEach((t, i) => {
    if (t && needs[i]) t.requiresGrad = true;
  });
  try {
    const y = apply(op, inputs, c.attrs);
    const out = await y.readF32();
    if (needs.some(Boolean)) {
      expect(e.tape.length, 'the op records itself on the tape').toBeGreaterThan(0);
      e.tape.backward(y, e.upload(Float32Array.from(d.gy), y.shape));
    } else expect(e.tape.length, 'nothing is recorded without a gradient').toBe(0);
    y.dispose();
    const grads: (Float32Array | null)[] = [];
    for (const t of inputs) {
      grads.push(t?.grad ? await t.grad.readF32() : null);
      t?.grad?.dispose();
    }
    return { y: out, grads };
  } finally {
    e.tape.clear();
    for (const t of inputs) t?.dispose();
  }
}

/** Central differences of Σ gy·f(x) at a few positions of input `k`, against the reference backward there. */
function checkFiniteDifferences(op: AnyOp, c: OpCase<unknown>, d: CaseData, k: number, refGrad: Float64Array): void {
  const x = d.ref[k]!;
  const rng = new Rng(k + 7);
  const at = x.data.length <= FD_SAMPLES ? [...x.data.keys()] : Array.from({ length: FD_SAMPLES }, () => Math.floor(rng.uniform(0, x.data.length)));
  const objective = (): number => dot(op.reference.forward(d.ref, c.attrs).data, d.gy);
  const h = c.fdStep ?? FD_STEP;
  const numeric = at.map((i) => {
    const v = x.data[i]!;
    x.data[i] = v + h;
    const fp = objective();
    x.data[i] = v - h;
    const fm = objective();
    x.data[i] = v;
    return (fp - fm) / (2 * h);
  });
  const analytic = at.map((i) => refGrad[i]!);
  // Relative to the sampled entries, or to the gradient's typical size where the samples are all near zero.
  const rms = Math.sqrt(dot(refGrad, refGrad) / refGrad.length);
  const err = Math.sqrt(at.reduce((s, _, j) => s + (analytic[j]! - numeric[j]!) ** 2, 0)) / Math.max(Math.sqrt(dot(analytic, analytic)), rms * Math.sqrt(at.length));
  expect(err, `${op.name} ${c.label}: reference gradient of input ${k} against finite differences (error ${err})`).toBeLessThanOrEqual(FD_TOL);
}

let engine: Engine;
beforeAll(async () => {
  // Freed buffers are filled with NaN: a backward that reads a tensor the tape did not hold shows up as NaN.
  engine = await Engine.create({ poisonReleased: true });
});
afterAll(() => {
  if (!engine.lost) engine.destroy();
});

describe('the op table', () => {
  it('every op entry exported from src/nn/ops is registered, with cases, a reference and a differentiable input', async () => {
    const dir = join(import.meta.dirname, '../src/nn/ops');
    const exported: AnyOp[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const mod = (await import(join(dir, file))) as Record<string, unknown>;
      for (const v of Object.values(mod)) {
        if (v && typeof v === 'object' && 'reference' in v && 'cases' in v && 'backward' in v) exported.push(v as AnyOp);
      }
    }
    expect(exported.length).toBeGreaterThan(0);
    for (const op of exported) expect(OPS, `${op.name} is exported but not in OPS`).toContain(op);
    expect(new Set(OPS.map((op) => op.name)).size, 'op names are unique').toBe(OPS.length);
    for (const op of OPS) {
      expect(typeof op.reference?.forward, `${op.name}: reference forward`).toBe('function');
      expect(typeof op.reference?.backward, `${op.name}: reference backward`).toBe('function');
      expect(typeof op.backward, `${op.name}: backward`).toBe('function');
      expect(op.cases.length, `${op.name}: cases`).toBeGreaterThan(0);
      expect(
        op.cases.some((c) => c.inputs.some((inp) => inp.shape !== null && inp.grad !== false)),
        `${op.name}: some case checks a gradient`,
      ).toBe(true);
    }
  });

  it('ops reach the tape only through the table', () => {
    const root = join(import.meta.dirname, '../src');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && /\btape\.record\(/.test(readFileSync(path, 'utf8'))) offenders.push(path.slice(root.length + 1));
      }
    };
    walk(root);
    // The one call: `apply` in the table; the engine's reshape views record through `Tape.recordView`.
    expect(offenders).toEqual(['nn/ops/op.ts']);
  });
});

for (const op of OPS) {
  describe(`op ${op.name}`, () => {
    op.cases.forEach((c, ci) => {
      it(c.label, async () => {
        const e = engine;
        const d = caseData(op, c, ci + 1);
        const fwdTol = c.tol?.forward ?? 1e-5;
        const gradTol = c.tol?.gradient ?? 1e-4;
        const refGrads = op.reference.backward(d.ref, c.attrs, d.gy);

        const plain = await runGpu(e, op, c, d, d.grad.map(() => false));
        expectClose(plain.y, d.y.data, fwdTol, `${op.name} ${c.label}: forward (no gradient)`);

        const full = await runGpu(e, op, c, d, d.grad);
        expectClose(full.y, d.y.data, fwdTol, `${op.name} ${c.label}: forward (recorded)`);
        d.grad.forEach((g, k) => {
          if (!g) return;
          expect(refGrads[k], `${op.name}: reference gradient of input ${k}`).toBeInstanceOf(Float64Array);
          expectClose(full.grads[k]!, refGrads[k]!, gradTol, `${op.name} ${c.label}: gradient of input ${k}`);
          checkFiniteDifferences(op, c, d, k, refGrads[k]!);
        });

        // Each input alone: the backward computes (and saves) only what is needed, and still gets it right.
        if (ci === 0 && d.grad.filter(Boolean).length > 1) {
          for (let k = 0; k < d.grad.length; k++) {
            if (!d.grad[k]) continue;
            const alone = await runGpu(e, op, c, d, d.grad.map((_, j) => j === k));
            expectClose(alone.grads[k]!, refGrads[k]!, gradTol, `${op.name} ${c.label}: gradient of input ${k} alone`);
            alone.grads.forEach((g, j) => expect(j === k || g === null, `${op.name}: input ${j} got a gradient it did not need`).toBe(true));
          }
        }
      });
    });
  });
}
