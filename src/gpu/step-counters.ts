/**
 * Per-step counters (issue 12: the per-token figures the bench reports): dispatches and copies a
 * step records, CPU milliseconds from begin() to the queue submit (recording, encoding, uniform
 * upload, submit), bytes read back, and GPU objects created on the device since the previous
 * step was submitted. KernelRunner feeds it; the engine adds the readbacks; totals are kept per
 * step kind, so a decode step's figures are not mixed with a prefill chunk's.
 */

import type { StepCountersSnapshot, StepKind, StepTotals } from './step-totals';

export type { StepCountersSnapshot, StepKind, StepTotals };

/** The GPUDevice methods that create an object (all of them a step could call). */
const creationMethods = [
  'createBuffer',
  'createBindGroup',
  'createBindGroupLayout',
  'createPipelineLayout',
  'createComputePipeline',
  'createComputePipelineAsync',
  'createRenderPipeline',
  'createShaderModule',
  'createTexture',
  'createSampler',
  'createQuerySet',
] as const;

const counters = new WeakMap<GPUDevice, { count: number }>();

/**
 * Counts every object created on `device` from now on (each creation method wrapped once per
 * device, on top of any wrapper already there, such as the buffer tally).
 */
export function creationCounter(device: GPUDevice): { readonly count: number } {
  let c = counters.get(device);
  if (c) return c;
  const counter = { count: 0 };
  const d = device as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>;
  for (const name of creationMethods) {
    const original = d[name];
    if (typeof original !== 'function') continue;
    d[name] = (...args: unknown[]) => {
      counter.count++;
      return original.apply(device, args);
    };
  }
  c = counter;
  counters.set(device, c);
  return c;
}

const zero = (): StepTotals => ({ steps: 0, dispatches: 0, copies: 0, readbackBytes: 0, allocations: 0, encodeMs: 0 });

export class StepCounters {
  private totals: StepCountersSnapshot = { prefill: zero(), decode: zero(), other: zero() };
  private current: { kind: StepKind; t0: number; dispatches: number; copies: number } | null = null;
  private lastKind: StepKind = 'other';
  private createdAtLastSubmit: number;

  constructor(private readonly created: { readonly count: number }) {
    this.createdAtLastSubmit = created.count;
  }

  begin(kind: StepKind): void {
    this.current = { kind, t0: performance.now(), dispatches: 0, copies: 0 };
  }

  dispatched(): void {
    if (this.current) this.current.dispatches++;
  }

  copied(): void {
    if (this.current) this.current.copies++;
  }

  /** After queue.submit(): closes the step's figures. */
  submitted(): void {
    const s = this.current;
    if (!s) return;
    const t = this.totals[s.kind];
    t.steps++;
    t.dispatches += s.dispatches;
    t.copies += s.copies;
    t.encodeMs += performance.now() - s.t0;
    t.allocations += this.created.count - this.createdAtLastSubmit;
    this.createdAtLastSubmit = this.created.count;
    this.lastKind = s.kind;
    this.current = null;
  }

  /** A step dropped after an error counts nothing. */
  abandoned(): void {
    this.current = null;
  }

  /** Bytes read back for the step submitted last. */
  readback(bytes: number): void {
    this.totals[this.lastKind].readbackBytes += bytes;
  }

  snapshot(): StepCountersSnapshot {
    return { prefill: { ...this.totals.prefill }, decode: { ...this.totals.decode }, other: { ...this.totals.other } };
  }

  /** Starts the totals over (objects created before now are nobody's). */
  reset(): void {
    this.totals = { prefill: zero(), decode: zero(), other: zero() };
    this.createdAtLastSubmit = this.created.count;
  }
}
