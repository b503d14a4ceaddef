/** A compiled kernel, its bind-group layout (fetched once) and the binding indices it declares read_write. */
export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  writable: number[];
  /** The WGSL it was compiled from (kept for `verifyKeys`). */
  code: string;
  name: string;
}

/**
 * Compiled compute pipelines keyed by each kernel's compact key (family, shapes, tile, options). The generator runs
 * only on a miss; `generated` counts those runs, so tests can prove that a warm dispatch generates no WGSL.
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, CompiledKernel>();
  hits = 0;
  misses = 0;
  /** WGSL generator calls (misses, plus every hit while `verifyKeys` is on). */
  generated = 0;
  /**
   * Regenerate the WGSL on every hit and fail when it differs from the cached code: proves that a key holds
   * everything its generator reads (on in the tests; costs a string build per dispatch).
   */
  verifyKeys = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly onCompileError: (kernel: string, error: Promise<string | null>) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** Every compiled kernel: its key, the name it was first compiled under and its WGSL. */
  *entries(): IterableIterator<{ key: string; name: string; code: string }> {
    for (const [key, k] of this.pipelines) yield { key, name: k.name, code: k.code };
  }

  get(name: string, key: string | undefined, code: string | (() => string)): CompiledKernel {
    if (key === undefined) {
      if (typeof code !== 'string') throw new Error(`kernel ${name}: a generated kernel needs a key`);
      key = code;
    }
    const cached = this.pipelines.get(key);
    if (cached) {
      this.hits++;
      if (this.verifyKeys) {
        const text = this.generate(code);
        if (text !== cached.code) throw new Error(`kernel ${name}: key '${key}' maps to two different WGSL sources (the key misses a parameter)`);
      }
      return cached;
    }
    this.misses++;
    const text = this.generate(code);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: text, label: name });
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name });
    const layout = pipeline.getBindGroupLayout(0);
    const scope = this.device.popErrorScope().then(async (err) => {
      if (!err) return null;
      const info = await module.getCompilationInfo().catch(() => null);
      const lines = info?.messages.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join('\n');
      return `${err.message}${lines ? `\n${lines}` : ''}`;
    });
    this.onCompileError(name, scope);
    const writable = [...text.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1]));
    const compiled = { pipeline, layout, writable, code: text, name };
    this.pipelines.set(key, compiled);
    return compiled;
  }

  private generate(code: string | (() => string)): string {
    if (typeof code === 'string') return code;
    this.generated++;
    return code();
  }
}
