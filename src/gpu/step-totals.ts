/**
 * The shapes of the per-step figures (issue 12), in their own module for the reason buffer-tally.ts
 * is: the worker protocol (and so the shipped .d.ts files) names them, and importing them from
 * step-counters.ts would pull WebGPU types into the public declarations.
 */

export type StepKind = 'prefill' | 'decode' | 'other';

export interface StepTotals {
  steps: number; // submitted steps
  dispatches: number; // dispatchWorkgroups calls with a non-empty grid
  copies: number; // copyBufferToBuffer calls inside steps
  readbackBytes: number; // bytes mapped back after the steps (logits rows, token ids)
  allocations: number; // device objects created (buffers, bind groups, pipelines, shader modules, ...)
  encodeMs: number; // CPU ms from begin() to queue.submit() returning
}

export type StepCountersSnapshot = Record<StepKind, StepTotals>;

/** What the engine reports (src/engine/step-stats.ts; `stepStats()` on the public API). */
export interface StepStats {
  /** Counters per step kind since the last reset ('decode': one-token steps, 'prefill': prompt chunks, 'other': the memory writer). */
  totals: StepCountersSnapshot;
  layers: number;
  /**
   * Dispatches one layer of a one-token step records: a dry run of the first L − 1 layers minus a
   * dry run of none, over L − 1 (the mean over those layers; null for a one-layer model). The dry
   * runs record at the next decode position and touch no GPU state.
   */
  dispatchesPerLayer: number | null;
  /** Dispatches of a one-token forward pass outside the layer loop (embedding, final norm, logits; not the sampler). */
  modelNonLayerDispatches: number | null;
}
