/**
 * The engine's per-step figures (issue 12): the runner's counters per step kind since the last
 * reset, plus how a decode step's dispatches split between the layer loop and the rest
 * (embedding, final norm, logits, sampler), so "dispatches per layer" can be read off.
 */
import type { StepStats } from '../gpu/step-totals';
import type { Engine } from './engine';

export type { StepStats };

/** Non-empty dispatches `model.record` names for one token at `pos` with only the first `layers` layers. */
function dryCount(engine: Engine, pos: number, layers?: number): number {
  const run = engine.runner;
  run.beginDry();
  try {
    engine.model.record(run, 1, pos, { layers });
  } finally {
    run.endDry();
  }
  return run.dryDispatches;
}

/** The figures now; `reset` starts the totals over afterwards. */
export function stepStats(engine: Engine, reset = false): StepStats {
  const totals = engine.runner.counters.snapshot();
  if (reset) engine.runner.counters.reset();
  const L = engine.model.cfg.numLayers;
  const pos = Math.min(engine.cachedTokens.length, engine.contextLength - 1);
  let perLayer: number | null = null,
    nonLayer: number | null = null;
  if (L > 1) {
    const none = dryCount(engine, pos, 0);
    perLayer = (dryCount(engine, pos, L - 1) - none) / (L - 1);
    nonLayer = dryCount(engine, pos) - perLayer * L;
  }
  return { totals, layers: L, dispatchesPerLayer: perLayer, modelNonLayerDispatches: nonLayer };
}
