// The host floor of an iteration: the commands it encoded (engine.startTrace / stopTrace), encoded again into a new
// command encoder — same pipelines, bind groups and workgroup counts, everything prebuilt, no bookkeeping — and
// submitted. What the stack itself (Dawn's encoder and submit) costs for that work; our host_ms above it is ours.
import type { Engine, RecordedCommand } from '../src/engine/index.js';
import { encodeRecorded } from '../src/engine/recorder.js';
import { gentleAwait } from '../src/engine/wait.js';
import { median } from './timing.js';

export interface FloorTiming {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

/** Encodes `commands` as a replay does (one compute pass between copies, setPipeline only when it changes) and submits. */
export function encodeAndSubmit(device: GPUDevice, commands: readonly RecordedCommand[]): void {
  const encoder = device.createCommandEncoder();
  encodeRecorded(encoder, commands);
  device.queue.submit([encoder.finish()]);
}

const idle = (device: GPUDevice): Promise<void> => gentleAwait(device.queue.onSubmittedWorkDone());

/**
 * `samples` timings of encodeAndSubmit, each started with the GPU idle. The commands run on the GPU again over
 * whatever the buffers hold now (call it only once the compared values were read); a GPU error (a buffer destroyed
 * since) voids the measurement: null.
 */
export async function measureFloor(e: Engine, commands: readonly RecordedCommand[], samples: number): Promise<FloorTiming | null> {
  const device = e.device;
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    await idle(device);
    device.pushErrorScope('validation');
    const t0 = performance.now();
    encodeAndSubmit(device, commands);
    ms.push(performance.now() - t0);
    const err = await device.popErrorScope();
    if (err) return null;
  }
  await idle(device);
  return { medianMs: median(ms), minMs: Math.min(...ms), samplesMs: ms };
}

/** `samples` timings of `upload` (the iteration's per-step host data written) until submitted, GPU idle before each. */
export async function measureUpload(e: Engine, upload: () => void, samples: number): Promise<FloorTiming> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    await e.sync();
    const t0 = performance.now();
    upload();
    e.flush();
    ms.push(performance.now() - t0);
  }
  await e.sync();
  return { medianMs: median(ms), minMs: Math.min(...ms), samplesMs: ms };
}
