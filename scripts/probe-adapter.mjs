// Exits 0 when Dawn finds a WebGPU adapter that can run compute work, 1 otherwise (used by setup.sh).
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const timer = setTimeout(() => process.exit(1), 20000);
try {
  const adapter = await gpu.requestAdapter();
  if (!adapter) process.exit(1);
  const device = await adapter.requestDevice();
  device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  clearTimeout(timer);
  console.log(`WebGPU adapter: ${adapter.info.description || adapter.info.vendor}`);
  process.exit(0);
} catch {
  process.exit(1);
}
