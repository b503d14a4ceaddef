// ONNX's own backend conformance tests (../shared/onnx/node) through parse → import passes → the float64 reference
// executor, at ONNX's tolerances (rtol 1e-3, atol 1e-7, NaN never equal). Skipped tests (test/onnx-skip.json, with
// a reason each) must be refused by the import with a clear error, never give a number.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxImportError } from '../src/formats/onnx/index.js';
import { NODE_TESTS, runConformance } from './onnx-harness.js';

const skips = JSON.parse(readFileSync(join(import.meta.dirname, 'onnx-skip.json'), 'utf8')) as Record<string, string>;
const tests = readdirSync(NODE_TESTS).filter((d) => d.startsWith('test_')).sort();

describe('ONNX backend conformance tests (float64 reference executor)', () => {
  it('finds the 148 tests, every skip has a reason and names a real test, at least 90% run', () => {
    expect(tests.length).toBe(148);
    for (const [name, reason] of Object.entries(skips)) {
      expect(tests).toContain(name);
      expect(reason.length).toBeGreaterThan(10);
    }
    expect((tests.length - Object.keys(skips).length) / tests.length).toBeGreaterThanOrEqual(0.9);
  });

  for (const t of tests) {
    if (skips[t]) {
      it(`${t} is refused with a clear error (skipped: ${skips[t]})`, () => {
        expect(() => runConformance(join(NODE_TESTS, t))).toThrow(OnnxImportError);
      });
      continue;
    }
    it(t, () => {
      const r = runConformance(join(NODE_TESTS, t));
      expect(r.message).toBe('');
      expect(r.ok).toBe(true);
    });
  }

  it('the BatchNormalization tests give the same numbers with folding off (nothing to fold there)', () => {
    for (const t of tests.filter((n) => n.startsWith('test_batchnorm'))) expect(runConformance(join(NODE_TESTS, t), { foldBatchNorm: false }).ok).toBe(true);
  });
});
