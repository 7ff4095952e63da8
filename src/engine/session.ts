/**
 * The state one conversation leaves on the GPU and beside it, owned by the Engine and handed to
 * the generation loop (generate.ts) and the feeders (feeder.ts, memory-feeder.ts): the KV cache
 * and what its rows were computed with, `append` (the only way rows are added), the last fed
 * token's logits, and the last chat turn. Nothing here knows the device: a forward step is the
 * Engine's, passed in.
 */
import type { LayerMemory } from '../model/llama';
import type { GpuSamplingKnobs } from '../kernels/sample';
import type { KvCache } from '../model/kv-cache';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { ContextOverflowError, EngineStateError, GenerationAbortedError } from '../util/errors';

/** Per-chunk inputs besides the ids: explicit memory's slots, and the RoPE shift of its layouts. */
export interface StepOptions {
  memory?: (LayerMemory | null)[];
  positionOffset?: number;
  /** Sample the next token on the GPU (kernels/sample.ts) and read back only its id. */
  sample?: GpuSampleSpec;
  /** The step's one token is the id the previous GPU-sampled step left in the model's input (nothing uploaded). */
  tokenOnGpu?: boolean;
  /** append: false skips the last row's logits (no LM head, no readback; a prompt chunk before the last); default true. */
  logits?: boolean;
}

/**
 * One GPU sampling step: the knobs, the penalty window, and (first step only) the PRNG state to
 * start from. The window lives on the GPU: a generation's first step uploads it, and every step
 * copies its sampled id into slot `penaltySlot`, so a step can be submitted before the previous
 * one's id is known.
 */
export interface GpuSampleSpec {
  knobs: GpuSamplingKnobs;
  /** Ids below this are sampled (the tokenizer's ids; padded rows never are). */
  usable: number;
  /** The window to upload before this step (a generation's first GPU step). */
  penaltyIds?: readonly number[];
  /** Ids of the window this step's penalty reads (slots 0 .. count-1). */
  penaltyCount: number;
  /** The slot this step's sampled id goes to (null: no penalty, no window). */
  penaltySlot: number | null;
  rngState?: Uint32Array;
}

/** Debug switches and counters the engine tests read. */
export interface SessionDebug {
  /** Force the CPU sampler (the reference) even where the GPU sampler applies. */
  cpuSampling: boolean;
  /** Bytes read back from the GPU by forward steps (logits rows and token ids). */
  readbackBytes: number;
}

/**
 * One forward step of `ids` at cache row `startPos` (one command encoder); when `logits` is given,
 * the last row's logits are read back into it.
 */
export type ForwardStep = (
  ids: readonly number[],
  startPos: number,
  logits: Float32Array | null,
  opts: StepOptions,
) => Promise<number | undefined>;

/** The cache tag of rows computed without explicit memory. */
export const plainTag = 'plain';

/**
 * The last chat turn as the model saw it: its rendered prompt plus the reply's text, and the ids
 * the model processed for them (prompt ids + the generated tokens that text shows).
 */
export interface ChatTurn {
  text: string;
  ids: number[];
}

export class Session {
  /** (vocab) f32: the logits of the last fed token, valid until the next step. */
  readonly logits: Float32Array;
  /** The last chat turn (generate.ts reuses its ids when the next prompt extends its text). */
  lastTurn: ChatTurn | null = null;
  readonly debug: SessionDebug = { cpuSampling: false, readbackBytes: 0 };
  /** What the cached rows were computed with (plainTag, or a memory bank + policy); only `reuse` changes it. */
  private tag = plainTag;

  constructor(
    /** The model's KV cache: rows and the token ids they hold. */
    readonly kv: KvCache,
    readonly tokenizer: Tokenizer,
    /** The model's vocab_size (logits per row; may exceed the tokenizer's ids). */
    readonly vocabSize: number,
    /** The model's max_position_embeddings. */
    readonly maxPositions: number,
    /** Most tokens one forward step takes (the prefill chunk). */
    private readonly maxChunk: number,
    private readonly forward: ForwardStep,
  ) {
    this.logits = new Float32Array(vocabSize);
  }

  get contextLength(): number {
    return this.kv.contextLength;
  }

  /** Cache rows a generation may fill when its context sits `positionOffset` RoPE positions further on. */
  rowLimit(positionOffset = 0): number {
    return Math.max(0, Math.min(this.contextLength, this.maxPositions - positionOffset));
  }

  /**
   * The cache-reuse rule: keeps the longest cached prefix of `ids` computed under `tag` (all but
   * the last id at most, so that feeding the rest yields logits), drops the rest, and returns how
   * many rows it kept. Rows computed under another tag are all dropped.
   */
  reuse(ids: readonly number[], tag: string): number {
    if (this.tag !== tag) {
      this.kv.truncate(0);
      this.tag = tag;
    }
    const keep = Math.min(this.kv.commonPrefix(ids), ids.length - 1);
    this.kv.truncate(keep);
    return keep;
  }

  /** Feeds `ids` without explicit memory after the rows `reuse` keeps; returns the logits and how many ids were cached. */
  async feed(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }> {
    if (ids.length === 0) throw new EngineStateError('evaluate() needs at least one token');
    this.checkFits(ids.length);
    const cached = this.reuse(ids, plainTag);
    return { logits: await this.append(ids.slice(cached), { signal }), cached };
  }

  /**
   * Feeds `ids` after the rows already cached, in steps of at most maxChunk tokens, with the given
   * memory slots and RoPE position offset; returns the last row's logits (stale with `logits: false`).
   */
  async append(ids: readonly number[], opts: StepOptions & { signal?: AbortSignal } = {}): Promise<Float32Array> {
    const kv = this.kv;
    this.checkFits(kv.length + ids.length);
    const last = kv.length + ids.length - 1 + (opts.positionOffset ?? 0);
    if (last >= this.maxPositions) {
      throw new ContextOverflowError(
        `RoPE position ${last} is past the model's ${this.maxPositions} positions ` +
          `(cache rows up to ${kv.length + ids.length - 1}, shifted by ${opts.positionOffset} for explicit memory)`,
        { position: last, maxPositionEmbeddings: this.maxPositions },
      );
    }
    for (let pos = 0; pos < ids.length; ) {
      if (opts.signal?.aborted) throw new GenerationAbortedError('generation aborted');
      const m = Math.min(this.maxChunk, ids.length - pos);
      const chunk = ids.slice(pos, pos + m);
      const read = pos + m === ids.length && opts.logits !== false;
      await this.forward(chunk, kv.length, read ? this.logits : null, opts);
      for (const t of chunk) kv.tokens.push(t);
      pos += m;
    }
    return this.logits;
  }

  /**
   * Submits one decode step that feeds `token` at the cache's next row — null: the id the previous
   * GPU-sampled step left on the GPU — and samples the next token on the GPU (an 8-byte readback).
   * Resolves to the id; the row counts once `accept` is called with the token it fed (a step whose
   * token is never accepted, because generation stopped first, leaves a row past the cache's
   * length, overwritten later).
   */
  sampleStep(token: number | null, sample: GpuSampleSpec): Promise<number> {
    const row = this.kv.length;
    this.checkFits(row + 1);
    if (row >= this.maxPositions) {
      throw new ContextOverflowError(`RoPE position ${row} is past the model's ${this.maxPositions} positions`, {
        position: row,
        maxPositionEmbeddings: this.maxPositions,
      });
    }
    return this.forward([token ?? 0], row, null, { sample, tokenOnGpu: token === null }).then((next) => {
      if (next === undefined) throw new EngineStateError('the forward step did not sample a token');
      return next;
    });
  }

  /** Counts the row a sampleStep wrote for `token` (the next one): the token is part of the context now. */
  accept(token: number): void {
    this.kv.tokens.push(token);
  }

  /** Forgets the cached context and the last turn (the next call prefills from scratch). */
  reset(): void {
    this.kv.truncate(0);
    this.lastTurn = null;
  }

  private checkFits(n: number): void {
    if (n > this.contextLength) {
      throw new ContextOverflowError(
        `${n} tokens do not fit the ${this.contextLength}-token context ` +
          "(raise contextLength at load, up to the model's max_position_embeddings, or shorten the input)",
        { tokens: n, contextLength: this.contextLength },
      );
    }
  }
}
