/** Finds the platform's WebGPU entry point: `navigator.gpu` in a browser, Dawn (npm `webgpu`) in Node. */
export async function getGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) {
    throw new Error('WebGPU is not available in this browser: use a recent Chrome/Edge (or enable WebGPU in the flags).');
  }
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Dawn tears down its instance when the GPU object is collected, crashing any device still in use: keep it for the process.
  dawnInstance ??= dawn.create([]);
  return dawnInstance;
}

let dawnInstance: GPU | undefined;
