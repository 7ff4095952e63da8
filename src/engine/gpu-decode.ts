/**
 * Decoding with the GPU sampler and one step in flight (issue 12 item 4): the sampled id stays on
 * the GPU and is the next step's input, so while the CPU reads step t's id, detokenizes it and
 * checks stop strings, step t+1 is already queued and the GPU never idles between tokens. A step
 * submitted ahead whose input is then not accepted (EOS, a stop string, the token limit, an abort)
 * is discarded: its row lies past the cache's length and is overwritten later.
 */
import type { Sampler } from '../sampling/sampler';
import type { GpuSampleSpec, Session } from './session';

export class GpuDecode {
  private ahead: Promise<number> | null = null; // the step feeding the id the last step sampled
  private steps = 0; // GPU-sampled steps submitted
  private readonly window: number[]; // the penalty window the first step uploads
  private readonly windowSize: number; // ids the window holds at most (0: no penalty)

  /**
   * `history`: the prompt and generated ids so far, the first token to feed last. `rngState`: the
   * CPU Sampler's PRNG after it drew that token (the GPU continues its stream).
   */
  constructor(
    private readonly session: Session,
    private readonly sampler: Sampler,
    private readonly usable: number,
    history: readonly number[],
    private readonly rngState: Uint32Array,
    windowSlots: number,
  ) {
    const o = sampler.options;
    this.windowSize = o.repetitionPenalty === 1 ? 0 : Math.min(o.repetitionWindow === 0 ? windowSlots : o.repetitionWindow, windowSlots);
    this.window = history.slice(history.length - Math.min(this.windowSize, history.length));
  }

  /**
   * `token` is accepted: the step feeding it (already in flight, or submitted now) writes its row.
   * Resolves to the id sampled after it; first, when `more()` says that id may be fed in turn,
   * submits the step that feeds it, straight from the GPU.
   */
  async next(token: number, more: () => boolean): Promise<number> {
    const current = this.ahead ?? this.session.sampleStep(token, this.spec());
    this.ahead = null;
    this.session.accept(token);
    if (more()) this.ahead = this.session.sampleStep(null, this.spec());
    return current;
  }

  /** Waits out a step still in flight and drops it (its id is never used, its row never counted). */
  async settle(): Promise<void> {
    const pending = this.ahead;
    this.ahead = null;
    await pending?.catch(() => undefined);
  }

  /** Step j's sampling: the knobs; j = 0 uploads the window and the PRNG state; each step's id goes to the window's next slot. */
  private spec(): GpuSampleSpec {
    const j = this.steps++;
    const first = j === 0;
    const base = { knobs: this.sampler.options, usable: this.usable, rngState: first ? this.rngState : undefined };
    const w = this.windowSize;
    if (w === 0) return { ...base, penaltyCount: 0, penaltySlot: null };
    const n0 = this.window.length;
    return { ...base, penaltyIds: first ? this.window : undefined, penaltyCount: Math.min(w, n0 + j), penaltySlot: (n0 + j) % w };
  }
}
