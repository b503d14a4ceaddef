import { Engine } from '../src/engine/index.js';
import { loadGemmTuning, LocalStorageTuneStore } from '../src/train/index.js';
import { showError } from './errors.js';

/** Creates the engine on this tab's WebGPU adapter and keeps the adapter badge and the error banner up to date. */
export async function startEngine(): Promise<Engine | null> {
  const badge = document.getElementById('adapter')!;
  if (!('gpu' in navigator) || !navigator.gpu) {
    badge.className = 'adapter bad';
    badge.textContent = 'No WebGPU in this browser';
    showError(
      new Error('This browser does not expose WebGPU (navigator.gpu). Use a recent Chrome or Edge, or enable WebGPU in the browser flags; pages must be served from localhost or https.'),
      'No WebGPU',
    );
    return null;
  }
  let engine: Engine;
  try {
    engine = await Engine.create();
  } catch (e) {
    badge.className = 'adapter bad';
    badge.textContent = 'No WebGPU adapter';
    showError(e, 'No WebGPU adapter');
    return null;
  }
  // Kernel choices tuned on this adapter earlier (tuner.ts); none yet: the heuristic chooses.
  await loadGemmTuning(engine, new LocalStorageTuneStore(engine.info), { warn: (m) => showError(new Error(m), 'Kernel tuning cache') }).catch(() => undefined);
  const i = engine.info;
  const name = i.description || [i.vendor, i.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  badge.className = 'adapter ok';
  badge.textContent = `WebGPU adapter: ${name}${i.isFallbackAdapter ? ' (software — expect CPU speeds)' : ''}`;
  badge.title = `features: ${i.features.join(', ') || 'none'}\nmax storage binding: ${i.limits.maxStorageBufferBindingSize ?? '?'} bytes`;
  // The page never destroys its device, so any loss (driver reset, GPU process crash, tab in the background too long) is news.
  void engine.device.lost.then((info) => {
    badge.className = 'adapter bad';
    badge.textContent = `WebGPU adapter lost: ${name}`;
    showError(new Error(`${info.message || 'no details'} (reason: ${info.reason}). Reload the page to start again.`), 'The GPU was lost');
  });
  return engine;
}
