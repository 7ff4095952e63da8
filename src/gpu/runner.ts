/**
 * KernelRunner: records a step's dispatches into one command encoder and one compute pass
 * (style.md rule 6). Kernel modules call dispatch() with their pipeline spec, packed Params and
 * storage buffers; bindings are by convention @binding(0) Params uniform, then @binding(1..n) the
 * storage buffers in the order the kernel's TS module passes them (all in @group(0)).
 */
import { PipelineCache, type PipelineSpec } from './pipelines';
import { UniformArena } from './uniforms';

export interface DispatchSpec extends PipelineSpec {
  params: ArrayBuffer;
  buffers: GPUBuffer[];
  workgroups: [number, number?, number?];
}

export class KernelRunner {
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformArena;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;

  constructor(readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
    this.uniforms = new UniformArena(device);
  }

  get maxWorkgroupsPerDimension(): number {
    return this.device.limits.maxComputeWorkgroupsPerDimension;
  }

  /** Starts recording a step. */
  begin(label = 'step'): void {
    if (this.encoder) throw new Error('KernelRunner.begin() while a step is being recorded');
    this.uniforms.reset();
    this.encoder = this.device.createCommandEncoder({ label });
  }

  dispatch(spec: DispatchSpec): void {
    const pass = this.computePass();
    const pipeline = this.pipelines.get(spec);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: this.uniforms.alloc(spec.params) }];
    spec.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const bindGroup = this.device.createBindGroup({ label: spec.key, layout: pipeline.getBindGroupLayout(0), entries });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
  }

  /** A buffer copy inside the step (ends the current compute pass; the next dispatch opens one). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.requireEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Ends recording, uploads the step's uniforms and submits the one command buffer. */
  submit(): void {
    this.endPass();
    const encoder = this.requireEncoder();
    this.uniforms.flush();
    this.device.queue.submit([encoder.finish()]);
    this.encoder = null;
  }

  /** Drops a step being recorded (after an error) so the runner can be used again. */
  abandon(): void {
    this.pass?.end();
    this.pass = null;
    this.encoder = null;
  }

  destroy(): void {
    this.uniforms.destroy();
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.requireEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private requireEncoder(): GPUCommandEncoder {
    if (!this.encoder) throw new Error('KernelRunner: no step is being recorded (call begin())');
    return this.encoder;
  }
}

/** Splits `count` workgroups over x and y when it exceeds the per-dimension limit. */
export function gridFor(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}
