/** An ONNX file's bytes → a backbone (browser-safe: the CLI reads the file, the tab gets it from a file picker). */
import type { Engine } from '../../engine/engine.js';
import { sha256Hex } from '../../formats/checksum.js';
import { parseOnnx } from '../../formats/onnx.js';
import { parseOnnxRef, type Backbone, type OnnxModelRef, type WeightsStatus } from '../types.js';
import { createOnnxBackbone, FEATURE_POOLINGS, type FeaturePooling } from './backbone.js';

export interface LoadedOnnxBackbone {
  backbone: Backbone;
  status: WeightsStatus;
  /** The file the weights came from. */
  weightsPath: string;
  /** SHA-256 of the file's bytes. */
  checksum: string;
}

export async function loadOnnxBackbone(
  e: Engine,
  ref: OnnxModelRef,
  bytes: Uint8Array,
  o: { inputSize?: number; expectedChecksum?: string; source?: string } = {},
): Promise<LoadedOnnxBackbone> {
  const parts = parseOnnxRef(ref);
  const source = o.source ?? parts.path;
  const checksum = await sha256Hex(bytes);
  if (o.expectedChecksum && checksum !== o.expectedChecksum) {
    throw new Error(`${source} has checksum ${checksum}, but the run was made with ${o.expectedChecksum} (the file changed)`);
  }
  if (parts.pool !== undefined && !(FEATURE_POOLINGS as readonly string[]).includes(parts.pool)) {
    throw new Error(`model ${ref}: pool '${parts.pool}' is not one of ${FEATURE_POOLINGS.join(', ')}`);
  }
  const model = parseOnnx(bytes, source);
  const backbone = createOnnxBackbone(e, ref, model, {
    ...(o.inputSize ? { inputSize: o.inputSize } : {}),
    ...(parts.cut !== undefined ? { cut: parts.cut } : {}),
    ...(parts.pool !== undefined ? { pool: parts.pool as FeaturePooling } : {}),
    source,
  });
  return { backbone, status: backbone.loadWeights(null, { source }), weightsPath: source, checksum };
}
