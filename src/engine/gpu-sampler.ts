/**
 * The GPU sampler's state (kernels/sample.ts) for the decode loop: its buffers, made once at load;
 * per step it records the sample kernel over the logits, copies the id into the model's input for
 * the next step (so a step can be submitted before this one's id is read back), into the penalty
 * window (which so grows on the GPU), and into one of two readback buffers (a step in flight maps
 * the other).
 */
import type { KernelRunner } from '../gpu/runner';
import { encodeSample } from '../kernels/sample';
import { Memory3Error } from '../util/errors';
import type { GpuSampleSpec } from './session';

export class GpuSampler {
  private readonly work: GPUBuffer; // (vocab) f32 scratch
  private readonly penaltyIds: GPUBuffer; // (contextLength) u32: the penalty window
  private readonly rng: GPUBuffer; // (4) u32 xoshiro128** state
  private readonly out: GPUBuffer; // (2) u32 token id, error flag
  private readonly staging: [GPUBuffer, GPUBuffer]; // (4) u32 MAP_READ each, used in turn
  private turn = 0;

  constructor(
    private readonly device: GPUDevice,
    vocabSize: number,
    /** Slots of the penalty window (the context length: a window never holds more). */
    readonly windowSlots: number,
  ) {
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.work = device.createBuffer({ label: 'sample.work', size: vocabSize * 4, usage: storage });
    this.penaltyIds = device.createBuffer({ label: 'sample.penalty_ids', size: Math.max(16, windowSlots * 4), usage: storage });
    this.rng = device.createBuffer({ label: 'sample.rng', size: 16, usage: storage });
    this.out = device.createBuffer({ label: 'sample.out', size: 16, usage: storage });
    this.staging = [0, 1].map((i) => device.createBuffer({ label: `sample.readback${i}`, size: 16, usage: read })) as [
      GPUBuffer,
      GPUBuffer,
    ];
  }

  /** Uploads what this step starts from: a generation's first penalty window and PRNG state. */
  prepare(spec: GpuSampleSpec): void {
    if (spec.penaltyIds && spec.penaltyIds.length > 0) this.device.queue.writeBuffer(this.penaltyIds, 0, Uint32Array.from(spec.penaltyIds));
    if (spec.rngState) this.device.queue.writeBuffer(this.rng, 0, Uint32Array.from(spec.rngState));
  }

  /**
   * Records sampling from `logits` and the id's copies: into `nextInput` (element 0, the next
   * step's token), the penalty window's slot, and this step's readback buffer, which it returns.
   */
  record(run: KernelRunner, logits: GPUBuffer, spec: GpuSampleSpec, nextInput: GPUBuffer): GPUBuffer {
    encodeSample(run, {
      ...spec.knobs,
      logits,
      work: this.work,
      penaltyIds: this.penaltyIds,
      rng: this.rng,
      out: this.out,
      vocab: spec.usable,
      nPenalty: spec.penaltyCount,
    });
    run.copy(this.out, 0, nextInput, 0, 4);
    if (spec.penaltySlot !== null) run.copy(this.out, 0, this.penaltyIds, spec.penaltySlot * 4, 4);
    const staging = this.staging[this.turn];
    this.turn ^= 1;
    run.copy(this.out, 0, staging, 0, 8);
    return staging;
  }

  /** The id a step recorded into `staging`; a row with NaN or no finite maximum throws as the CPU Sampler does. */
  static async read(staging: GPUBuffer, map: (b: GPUBuffer) => Promise<void>): Promise<number> {
    await map(staging);
    const [token, flag] = new Uint32Array(staging.getMappedRange(0, 8).slice(0));
    staging.unmap();
    if (flag !== 0) throw new Memory3Error('Sampler: the logits row has NaN or no finite maximum (GPU sampler)', { token });
    return token;
  }

  destroy(): void {
    for (const b of [this.work, this.penaltyIds, this.rng, this.out, ...this.staging]) b.destroy();
  }
}
