/**
 * Compute pipelines cached by a readable variant key (`rms_norm.f32.wg128`), which is also the GPU
 * label so validation messages and captures name the kernel (style.md rule 3).
 */
import { preprocessWgsl } from './shader';

export interface PipelineSpec {
  /** Readable variant key: op name, then the variant choices, dot-separated. */
  key: string;
  /** Raw kernel source from shaders/kernels (imported with ?raw). */
  source: string;
  defines?: string[];
  /** Values for the kernel's `override` constants (WG_SIZE, …). */
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** The pipeline for `spec`; compiled synchronously on first use when compile() did not cover it. */
  get(spec: PipelineSpec): GPUComputePipeline {
    let p = this.pipelines.get(spec.key);
    if (!p) {
      p = this.device.createComputePipeline(this.descriptor(spec));
      this.pipelines.set(spec.key, p);
    }
    return p;
  }

  /** Whether `key` is compiled already. */
  has(key: string): boolean {
    return this.pipelines.has(key);
  }

  /**
   * Compiles every spec not cached yet with createComputePipelineAsync (at load, so no step
   * compiles synchronously); `onProgress(done, total)` after each.
   */
  async compile(specs: readonly PipelineSpec[], onProgress: (done: number, total: number) => void = () => {}): Promise<void> {
    const todo = specs.filter((s) => !this.pipelines.has(s.key));
    let done = 0;
    onProgress(0, todo.length);
    await Promise.all(
      todo.map(async (spec) => {
        const p = await this.device.createComputePipelineAsync(this.descriptor(spec));
        this.pipelines.set(spec.key, p);
        onProgress(++done, todo.length);
      }),
    );
  }

  private descriptor(spec: PipelineSpec): GPUComputePipelineDescriptor {
    const code = preprocessWgsl(spec.source, spec.defines ?? []);
    const module = this.device.createShaderModule({ code, label: spec.key });
    return { label: spec.key, layout: 'auto', compute: { module, entryPoint: 'main', constants: spec.constants } };
  }
}
