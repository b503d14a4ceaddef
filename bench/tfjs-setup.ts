// TensorFlow.js in the same process as our engine: the WebGPU backend on our very GPUDevice, and the wasm
// backend as the CPU reference. Order matters (see ../shared/notes/tfjs-on-dawn.md): WebGPU globals and a
// `navigator.gpu` shim must exist before the tfjs packages are imported, so they are imported dynamically.
import type * as TF from '@tensorflow/tfjs';
import { getGpu, type Engine } from '../src/engine/index.js';
import { gentleAwait } from '../src/engine/wait.js';

export type Tf = typeof TF;

/** The parts of tfjs-backend-webgpu's WebGPUBackend the harness touches (they are public JS fields). */
interface WebGpuBackendLike {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export interface TfjsHandle {
  tf: Tf;
  /** Whether the TF.js WebGPU backend runs on the engine's own GPUDevice (else: its own device on the same adapter). */
  sharedDevice: boolean;
  /** null when the wasm backend failed to initialise (the message is in `wasmError`). */
  wasm: boolean;
  wasmError?: string;
  /** Submits TF.js's pending WebGPU commands without waiting (host samples). */
  submitWebgpu(): void;
  /** Submits TF.js's pending WebGPU commands and waits until the GPU has finished them. */
  finishWebgpu(): Promise<void>;
  useWebgpu(): Promise<void>;
  useWasm(): Promise<void>;
}

export interface TfjsOptions {
  /** Folder holding tfjs-backend-wasm's .wasm files (needed when the harness is bundled with tfjs inside). */
  wasmDir?: string;
  /** Skip the wasm backend entirely. */
  noWasm?: boolean;
  /** Give TF.js its own GPUDevice on the same adapter instead of sharing the engine's. */
  separateDevice?: boolean;
}

export async function setupTfjs(engine: Engine, opts: TfjsOptions = {}): Promise<TfjsHandle> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  // getGpu() also installs Dawn's globals (GPUBufferUsage …) that TF.js uses. Node ≥ 21 has a getter-only
  // `navigator`: redefine it rather than assign.
  if (!g.navigator?.gpu) {
    const gpu = await getGpu();
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  }

  const tf = (await import('@tensorflow/tfjs')) as Tf;
  const webgpuPkg = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => WebGpuBackendLike;
  };
  quietTfjs(tf);

  let sharedDevice = false;
  if (!opts.separateDevice) {
    // Replace the package's factory (which requests a fresh device) with one that wraps the engine's device.
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new webgpuPkg.WebGPUBackend(engine.device, engine.adapter.info) as unknown as TF.KernelBackend, 3);
    sharedDevice = true;
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its WebGPU backend');
  await tf.ready();
  const webgpuBackend = tf.backend() as unknown as WebGpuBackendLike;

  let wasm = false;
  let wasmError: string | undefined;
  if (!opts.noWasm) {
    try {
      const wasmPkg = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as { setWasmPaths(prefix: string): void };
      if (opts.wasmDir) wasmPkg.setWasmPaths(opts.wasmDir.endsWith('/') ? opts.wasmDir : `${opts.wasmDir}/`);
      wasm = await tf.setBackend('wasm');
      if (!wasm) wasmError = 'setBackend("wasm") returned false';
    } catch (e) {
      wasmError = e instanceof Error ? e.message : String((e as { message?: string })?.message ?? e);
    }
    await tf.setBackend('webgpu');
  }

  function submitWebgpu(): void {
    if (webgpuBackend.commandEncoder) {
      webgpuBackend.endComputePassEncoder();
      webgpuBackend.submitQueue();
    }
  }

  return {
    tf,
    sharedDevice,
    wasm,
    ...(wasmError ? { wasmError } : {}),
    submitWebgpu,
    async finishWebgpu() {
      submitWebgpu();
      // Waited for the way our engine waits (no main-thread spin in Node), so neither side pays for the harness.
      await gentleAwait(webgpuBackend.device.queue.onSubmittedWorkDone());
    },
    async useWebgpu() {
      if (tf.getBackend() !== 'webgpu') await tf.setBackend('webgpu');
    },
    async useWasm() {
      if (!wasm) throw new Error(`the TF.js wasm backend is unavailable: ${wasmError ?? 'disabled'}`);
      if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
    },
  };
}

/** TF.js prints a banner about Node bindings and other advice on first use; the harness keeps stdout for its table. */
function quietTfjs(tf: Tf): void {
  tf.env().set('PROD', true);
}
