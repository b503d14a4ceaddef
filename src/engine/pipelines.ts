/** Compiled compute pipelines keyed by their generated WGSL (shapes are constants in the code, so the code is the key). */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly writes = new Map<string, number[]>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly onCompileError: (kernel: string, error: Promise<string | null>) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** The binding indices a kernel declares read_write (the buffers it may write). */
  writableBindings(code: string): number[] {
    let w = this.writes.get(code);
    if (!w) {
      w = [...code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1]));
      this.writes.set(code, w);
    }
    return w;
  }

  get(name: string, code: string): GPUComputePipeline {
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
    this.pipelines.set(code, pipeline);
    return pipeline;
  }
}
