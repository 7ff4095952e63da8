/**
 * Picks the next token from one row of logits. Order (as transformers' logits processors and
 * llama.cpp's default chain): repetition penalty → temperature → top-k → top-p → min-p → draw.
 *
 * - Repetition penalty (HF): each distinct token in the last `repetitionWindow` history ids gets
 *   logit / penalty when positive, logit × penalty when negative.
 * - Temperature 0 is greedy: argmax of the penalized logits, lowest id on ties; nothing is drawn.
 * - top-k keeps the k largest (lowest id first among equal values); top-p keeps, in descending
 *   order, each token whose predecessors' mass is still below p (so the token that reaches p stays);
 *   min-p keeps tokens with p ≥ minP · p_max. Min-p after top-p equals the intersection of the two,
 *   because the most likely token always survives and renormalizing keeps ratios.
 *
 * Scratch buffers are allocated once per Sampler (one per generation), never per token.
 */
import { Memory3Error, InvalidOptionsError, ShapeMismatchError } from '../util/errors';
import { Prng } from '../util/prng';
import { NucleusScratch, nucleusOverVocab } from './nucleus';
import { type ResolvedSamplingOptions, type SamplingOptions, validateSamplingOptions } from './options';

export class Sampler {
  readonly options: Readonly<ResolvedSamplingOptions>;
  /** The seed the PRNG started from (the given one, or the random one chosen when none was). */
  readonly seed: number;
  private readonly prng: Prng;
  private readonly work: Float32Array; // (vocab) penalized, temperature-scaled logits
  private readonly order: Int32Array; // (vocab) candidate ids; the first `count` are live
  private readonly heap: Int32Array; // (topK) min-heap of the best ids seen so far
  private readonly weights: Float64Array; // (vocab) exp(logit − max) of order[i], for the draw
  private readonly nucleus = new NucleusScratch();
  private count = 0;
  private maxLogit = 0; // largest scaled logit among candidates (softmax shift)

  constructor(
    options: SamplingOptions,
    readonly vocabSize: number,
  ) {
    if (!Number.isSafeInteger(vocabSize) || vocabSize < 1) {
      throw new InvalidOptionsError(`vocabSize must be a positive integer, got ${vocabSize}`);
    }
    this.options = Object.freeze(validateSamplingOptions(options));
    this.seed = this.options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.prng = new Prng(this.seed);
    this.work = new Float32Array(vocabSize);
    this.order = new Int32Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
    const k = this.options.topK;
    this.heap = new Int32Array(k > 0 && k < vocabSize ? k : 0);
  }

  /** The PRNG's current state, for a GPU sampler that continues this sequence (kernels/sample.ts). */
  prngState(): Uint32Array {
    return this.prng.state();
  }

  /** Draws the next token id. `history`: ids so far (prompt and generated), for the penalty. */
  sample(logits: Float32Array, history: ArrayLike<number> = []): number {
    this.penalize(logits, history);
    if (this.options.temperature === 0) return this.argmax();
    const total = this.prepare();
    const target = this.prng.nextFloat() * total;
    let acc = 0;
    for (let i = 0; i < this.count; i++) {
      acc += this.weights[i];
      if (target < acc) return this.order[i];
    }
    return this.order[this.count - 1]; // rounding left `target` past the last weight
  }

  /** The distribution `sample` draws from (one-hot when greedy). Writes `out` when given. */
  probabilities(logits: Float32Array, history: ArrayLike<number> = [], out?: Float32Array): Float32Array {
    const probs = out ?? new Float32Array(this.vocabSize);
    if (probs.length !== this.vocabSize) {
      throw new ShapeMismatchError('Sampler.probabilities: out has the wrong length', {
        expected: this.vocabSize,
        actual: probs.length,
      });
    }
    probs.fill(0);
    this.penalize(logits, history);
    if (this.options.temperature === 0) {
      probs[this.argmax()] = 1;
      return probs;
    }
    const total = this.prepare();
    for (let i = 0; i < this.count; i++) probs[this.order[i]] = this.weights[i] / total;
    return probs;
  }

  /** Copies logits into `work` and applies the repetition penalty. */
  private penalize(logits: Float32Array, history: ArrayLike<number>): void {
    if (logits.length !== this.vocabSize) {
      throw new ShapeMismatchError('Sampler: logits row length differs from the vocabulary size', {
        expected: this.vocabSize,
        actual: logits.length,
      });
    }
    this.work.set(logits);
    const { repetitionPenalty: penalty, repetitionWindow: window } = this.options;
    if (penalty === 1) return;
    const start = window === 0 ? 0 : Math.max(0, history.length - window);
    for (let i = start; i < history.length; i++) {
      const id = history[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InvalidOptionsError(`Sampler: history[${i}] = ${id} is not a token id below ${this.vocabSize}`);
      }
      const x = logits[id]; // from the original row, so repeated ids are penalized once
      this.work[id] = x > 0 ? x / penalty : x * penalty;
    }
  }

  private argmax(): number {
    const work = this.work;
    let best = 0;
    for (let i = 0; i < work.length; i++) {
      if (Number.isNaN(work[i])) throw nanError(i);
      if (work[i] > work[best]) best = i;
    }
    return best;
  }

  /** Temperature, then top-k / top-p / min-p: leaves the kept ids in order[0..count); returns their mass. */
  private prepare(): number {
    const { topP, minP } = this.options;
    this.maxLogit = this.scale(1 / this.options.temperature);
    const minLogit = minP > 0 ? this.maxLogit + Math.log(minP) : -Infinity;
    if (this.heap.length > 0) {
      this.count = this.selectTopK();
      this.sortCandidates();
      if (topP < 1) this.cutTopP(this.mass(), minLogit);
      else this.cutBelow(minLogit);
    } else if (topP < 1) {
      this.count = nucleusOverVocab(this.work, this.order, this.nucleus, topP, minLogit);
    } else {
      this.count = this.gather(minLogit > -Infinity ? minLogit : -Number.MAX_VALUE);
    }
    return this.mass();
  }

  /**
   * Shifts `work` so its maximum is 0, then multiplies by 1/T (shift first, so a tiny temperature
   * sends the rest to −∞ rather than overflowing); returns the new maximum, 0. Throws on NaN, +∞,
   * or no finite logit.
   */
  private scale(inverseTemperature: number): number {
    const work = this.work;
    let max = -Infinity;
    for (let i = 0; i < work.length; i++) {
      const x = work[i];
      if (Number.isNaN(x)) throw nanError(i);
      if (x > max) max = x;
    }
    if (!Number.isFinite(max)) {
      throw new Memory3Error(`Sampler: the largest logit is ${max}, expected a finite value`, { max });
    }
    for (let i = 0; i < work.length; i++) work[i] = (work[i] - max) * inverseTemperature;
    return 0;
  }

  /** Fills weights[i] = exp(logit − max) of the live candidates; returns their sum (float64). */
  private mass(): number {
    let total = 0;
    for (let i = 0; i < this.count; i++) {
      const w = Math.exp(this.work[this.order[i]] - this.maxLogit);
      this.weights[i] = w;
      total += w;
    }
    return total;
  }

  /** Puts the ids with scaled logit ≥ `lower` into order[0..n); returns n. */
  private gather(lower: number): number {
    const work = this.work;
    let n = 0;
    for (let i = 0; i < work.length; i++) if (work[i] >= lower) this.order[n++] = i;
    return n;
  }

  /** Descending by logit, ascending id among equal logits. */
  private sortCandidates(): void {
    const work = this.work;
    this.order.subarray(0, this.count).sort((a, b) => work[b] - work[a] || a - b);
  }

  /** Keeps the sorted prefix while the mass before each token is below topP·total and logit ≥ minLogit. */
  private cutTopP(total: number, minLogit: number): void {
    const limit = this.options.topP * total;
    let before = 0;
    let kept = 0;
    while (kept < this.count && before < limit) {
      const x = this.work[this.order[kept]];
      if (x < minLogit) break;
      before += Math.exp(x - this.maxLogit);
      kept++;
    }
    this.count = Math.max(kept, 1);
  }

  /** Drops the sorted tail below `minLogit` (min-p). */
  private cutBelow(minLogit: number): void {
    let kept = 0;
    while (kept < this.count && this.work[this.order[kept]] >= minLogit) kept++;
    this.count = Math.max(kept, 1);
  }

  /** The topK best ids (ties: lower id) into order[0..n), via a size-k min-heap; returns n. */
  private selectTopK(): number {
    const work = this.work;
    const heap = this.heap;
    const k = heap.length;
    // "a below b": a is the worse candidate (smaller logit, or equal logit and larger id).
    const below = (a: number, b: number) => work[a] < work[b] || (work[a] === work[b] && a > b);
    let size = 0;
    for (let i = 0; i < work.length; i++) {
      if (work[i] === -Infinity) continue;
      if (size < k) {
        let c = size++;
        heap[c] = i;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!below(heap[c], heap[p])) break;
          [heap[c], heap[p]] = [heap[p], heap[c]];
          c = p;
        }
      } else if (below(heap[0], i)) {
        heap[0] = i;
        siftDown(heap, size, below);
      }
    }
    this.order.set(heap.subarray(0, size));
    return size;
  }
}

function siftDown(heap: Int32Array, size: number, below: (a: number, b: number) => boolean): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    const r = l + 1;
    let m = c;
    if (l < size && below(heap[l], heap[m])) m = l;
    if (r < size && below(heap[r], heap[m])) m = r;
    if (m === c) return;
    [heap[c], heap[m]] = [heap[m], heap[c]];
    c = m;
  }
}

function nanError(index: number): Memory3Error {
  return new Memory3Error(`Sampler: logits[${index}] is NaN`, { index });
}
