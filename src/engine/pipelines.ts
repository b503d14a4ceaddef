/** Compiled compute pipelines keyed by their generated WGSL (shapes are constants in the code, so the code is the key). */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly onCompileError: (kernel: string, error: Promise<string | null>) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
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
