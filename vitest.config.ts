import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Lavapipe compiles each new pipeline on the CPU (seconds for the big GEMM tiles); Mesa caches them on disk,
    // so a machine's first run is far slower than later ones. Timeouts are sized for that first run.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    teardownTimeout: 10_000,
    // Every pipeline-cache hit regenerates its WGSL and compares: a kernel key that misses a parameter fails loudly.
    env: { WEBGPU_TRANSFER_VERIFY_KEYS: '1' },
  },
});
