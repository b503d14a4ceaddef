import { getGpu } from './gpu.js';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** The limits this engine raises above the defaults when the adapter allows it. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * The optional features some code path uses, requested when the adapter has them: 'timestamp-query' (the profiler)
 * and 'subgroups' (matmul's subgroupBroadcast). No kernel uses f16, so 'shader-f16' is not requested: `info` lists
 * exactly what is requested (AdapterSummary.features).
 */
const WANTED_FEATURES = ['timestamp-query', 'subgroups'] as const;

export const NO_ADAPTER_HELP =
  'No WebGPU adapter found. In Node this engine uses Dawn (npm package `webgpu`) over Vulkan: install a Vulkan driver. ' +
  "Without a GPU, install Mesa's software driver (lavapipe) from Debian bookworm-backports: " +
  '`apt-get install -y -t bookworm-backports mesa-vulkan-drivers` (./setup.sh does this). ' +
  'In a browser, use one with WebGPU enabled.';

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
}

export async function acquireDevice(options: { powerPreference?: GPUPowerPreference } = {}): Promise<AcquiredDevice> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const summary: AdapterSummary = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter:
      Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
      Boolean((adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
      info.architecture === 'software' ||
      /llvmpipe|swiftshader/i.test(info.description ?? ''),
    features: [...requiredFeatures],
    limits: { ...requiredLimits },
  };
  return { adapter, device, summary };
}
