// Per-adapter GEMM tuning as the shells use it: what `info` reports, the step `tune` times, and the cache every
// training command (and the tab) loads. The machinery is src/kernels/tuner.ts; this is its door for src/cli and web/.
import type { Engine } from '../engine/index.js';
import { gemmCandidates, startGemmProbes, stopGemmProbes, type GemmProbe, type GemmVariant } from '../kernels/gemm-variant.js';
import { adapterLanes } from '../kernels/matmul.js';
import { readTuneCache, type TuneCacheState, type TuneStore } from '../kernels/tuner.js';
import { createBackbone } from '../models/registry.js';
import type { BuiltinBackboneName } from '../models/types.js';
import { bceWithLogits } from '../nn/functional/index.js';
import { buildTransferModel, forwardLogits } from './model.js';

export { loadGemmTuning, tuneGemms, LocalStorageTuneStore, type TuneStore, type TuneRow, type TuneOptions, type TuneCacheState } from '../kernels/tuner.js';

/** The adapter's tuning cache as `info` reports it, and the GEMM variants the engine may choose from on it. */
export interface GemmTuningReport {
  file: string;
  state: TuneCacheState['state'];
  entries: number;
  reason?: string;
  /** Shape class → the cached winner. */
  variants: Record<string, GemmVariant>;
  /** The variants that can run on this adapter. */
  candidates: GemmVariant[];
}

export async function gemmTuningReport(e: Engine, store: TuneStore): Promise<GemmTuningReport> {
  const cache = await readTuneCache(e.info, store);
  return {
    file: cache.location,
    state: cache.state,
    entries: cache.entries.size,
    ...('reason' in cache ? { reason: cache.reason } : {}),
    variants: Object.fromEntries([...cache.entries].map(([k, v]) => [k, v.variant])),
    candidates: gemmCandidates(e, adapterLanes(e).L),
  };
}

/**
 * One fine-tuning-like step, the base's top layers and the head trained (forward of everything, backward of the
 * trained part), with every GEMM recorded as a probe (random weights: the timings do not depend on them).
 */
export async function recordFinetuneStep(e: Engine, name: BuiltinBackboneName, inputSize: number, batch: number): Promise<GemmProbe[]> {
  const bb = createBackbone(name, e, { inputSize, seed: 0, logger: { warn: () => undefined } });
  const model = buildTransferModel(e, bb.model, inputSize, 0);
  let probes: GemmProbe[] = [];
  try {
    bb.model.trainOnly(bb.topLayerNames);
    const x = e.keep(e.full([batch, inputSize, inputSize, 3], 0.5));
    const y = e.keep(e.full([batch], 1));
    startGemmProbes(e);
    try {
      e.tidy(() => {
        const logits = forwardLogits(model, x, { training: true, seed: 0, epoch: 0, step: 0 });
        e.tape.backward(bceWithLogits(logits, y));
      });
      await e.sync();
    } finally {
      probes = stopGemmProbes(e);
      e.tape.clear();
      for (const p of model.trainableParams()) {
        p.grad?.dispose();
        p.grad = null;
      }
      x.dispose();
      y.dispose();
    }
  } finally {
    model.dispose();
  }
  return probes;
}
