/** A compiled kernel and the binding indices it declares read_write (the buffers it may write). */
export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  writable: number[];
}

/** Compiled compute pipelines keyed by their generated WGSL (shapes are constants in the code, so the code is the key). */
export class PipelineCache {
  private readonly pipelines = new Map<string, CompiledKernel>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly onCompileError: (kernel: string, error: Promise<string | null>) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(name: string, code: string): CompiledKernel {
    const cached = this.pipelines.get(code);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: name });
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name });
    const scope = this.device.popErrorScope().then(async (err) => {
      if (!err) return null;
      const info = await module.getCompilationInfo().catch(() => null);
      const lines = info?.messages.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join('\n');
      return `${err.message}${lines ? `\n${lines}` : ''}`;
    });
    this.onCompileError(name, scope);
    const writable = [...code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1]));
    const compiled = { pipeline, writable };
    this.pipelines.set(code, compiled);
    return compiled;
  }
}
