/**
 * KernelRunner: records a step's dispatches into one command encoder and one compute pass
 * (style.md rule 6). Kernel modules call dispatch() with their pipeline spec, packed Params and
 * storage buffers; bindings are by convention @binding(0) Params uniform, then @binding(1..n) the
 * storage buffers in the order the kernel's TS module passes them (all in @group(0)).
 *
 * Nothing is created per dispatch once a step's shape has been seen (style.md rule 5): a decode
 * step records the same dispatches into the same uniform slots every token, so bind groups are
 * cached by (pipeline key, uniform chunk/offset/size, the storage buffers' identities); only the
 * Params values change, and the arena uploads them with one writeBuffer per 64 KB chunk.
 */
import { PipelineCache, type PipelineSpec } from './pipelines';
import { creationCounter, StepCounters, type StepKind } from './step-counters';
import { UniformArena } from './uniforms';

/** Bind groups kept at most; past it the cache starts over (buffers replaced on shape changes leave stale keys). */
const maxBindGroups = 8192;

export interface DispatchSpec extends PipelineSpec {
  params: ArrayBuffer;
  buffers: GPUBuffer[];
  workgroups: [number, number?, number?];
}

export class KernelRunner {
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformArena;
  /** Dispatches, copies, encode time, readbacks and creations per step kind (the bench's per-token figures). */
  readonly counters: StepCounters;
  /** Non-empty dispatches the last dry run named (the bench's per-layer split). */
  dryDispatches = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dry: Map<string, PipelineSpec> | null = null;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;

  constructor(readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
    this.uniforms = new UniformArena(device);
    this.counters = new StepCounters(creationCounter(device));
  }

  get maxWorkgroupsPerDimension(): number {
    return this.device.limits.maxComputeWorkgroupsPerDimension;
  }

  /** Starts recording a step. */
  begin(label = 'step', kind: StepKind = 'other'): void {
    if (this.encoder) throw new Error('KernelRunner.begin() while a step is being recorded');
    this.counters.begin(kind);
    this.uniforms.reset();
    this.encoder = this.device.createCommandEncoder({ label });
  }

  /**
   * Starts a dry run: dispatches only collect their pipeline specs (no encoder, no uniforms, no
   * GPU state touched) until endDry() returns them, for PipelineCache.compile() at load.
   */
  beginDry(): void {
    if (this.encoder || this.dry) throw new Error('KernelRunner.beginDry() while a step is being recorded');
    this.dry = new Map();
    this.dryDispatches = 0;
  }

  /** Ends a dry run; returns the distinct pipeline specs its dispatches named. */
  endDry(): PipelineSpec[] {
    const specs = [...(this.dry?.values() ?? [])];
    this.dry = null;
    return specs;
  }

  dispatch(spec: DispatchSpec): void {
    const [x, y = 1, z = 1] = spec.workgroups;
    const nonEmpty = x > 0 && y > 0 && z > 0;
    if (this.dry) {
      if (nonEmpty) this.dryDispatches++;
      if (!this.dry.has(spec.key))
        this.dry.set(spec.key, { key: spec.key, source: spec.source, defines: spec.defines, constants: spec.constants });
      return;
    }
    const pass = this.computePass();
    const pipeline = this.pipelines.get(spec);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(spec, pipeline, this.uniforms.alloc(spec.params)));
    if (nonEmpty) {
      pass.dispatchWorkgroups(x, y, z);
      this.counters.dispatched();
    }
  }

  /** A buffer copy inside the step (ends the current compute pass; the next dispatch opens one). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (this.dry) return;
    this.endPass();
    this.requireEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.counters.copied();
  }

  /** Ends recording, uploads the step's uniforms and submits the one command buffer. */
  submit(): void {
    this.endPass();
    const encoder = this.requireEncoder();
    this.uniforms.flush();
    this.device.queue.submit([encoder.finish()]);
    this.encoder = null;
    this.counters.submitted();
  }

  /** Drops a step being recorded (after an error) so the runner can be used again. */
  abandon(): void {
    this.dry = null;
    this.pass?.end();
    this.pass = null;
    this.encoder = null;
    this.counters.abandoned();
  }

  destroy(): void {
    this.bindGroups.clear();
    this.uniforms.destroy();
  }

  /** Bind groups in use since the runner was made (or last started over). */
  get bindGroupCount(): number {
    return this.bindGroups.size;
  }

  /** The cached bind group of `spec`'s buffers with the uniform slot `params`, created on first use. */
  private bindGroup(spec: DispatchSpec, pipeline: GPUComputePipeline, params: GPUBufferBinding): GPUBindGroup {
    let key = `${spec.key}|${this.bufferId(params.buffer)}:${params.offset}:${params.size}`;
    for (const b of spec.buffers) key += `|${this.bufferId(b)}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: params }];
      spec.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
      group = this.device.createBindGroup({ label: spec.key, layout: pipeline.getBindGroupLayout(0), entries });
      if (this.bindGroups.size >= maxBindGroups) this.bindGroups.clear();
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
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
