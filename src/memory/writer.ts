/**
 * The memory writer (Memory³): reference token ids → forward through the memory layers on the
 * writer's own KV cache (the reference prefix first) → selection scores on the un-rotated q, k →
 * top-k tokens per (memory layer, memory head) → their post-RoPE keys and values. All on the GPU;
 * one small readback per batch of references. Buffers are allocated once per writer (style.md rule 5).
 *
 * The prefix's keys/values do not depend on the reference (causal attention), so they are computed
 * once into cache rows [0, prefixLen) and every reference runs rows [prefixLen, prefixLen + n):
 * the same result as running [prefix + reference] each time.
 *
 * Each reference is its own submit (the model reads its ids from one shared ids buffer written by
 * queue.writeBuffer, so two references cannot share a command buffer); queue order keeps them
 * apart and the batch ends with one copy into one staging buffer and one mapAsync.
 *
 * The writer shares the model's ids and activation buffers (not its KV cache) with the engine. That
 * is safe to interleave with engine steps: every step writes its ids, records and submits without
 * awaiting in between, and no activation outlives its step.
 */
import type { KernelRunner } from '../gpu/runner';
import { encodeMemoryGather, encodeMemoryScores, encodeMemoryTopk } from '../kernels/memory_select';
import type { KvCache } from '../model/kv-cache';
import type { LlamaModel } from '../model/llama';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { EngineStateError, GenerationAbortedError, GPUExecutionError, InvalidOptionsError } from '../util/errors';
import { prefixTokens } from './references';
import type { MemoryPolicy, MemoryRecordData, MemoryShape } from './types';

/** A record as written, with the reference's token count: when it is below tokensPerHead, every
 *  head's slots [tokenCount, tokensPerHead) repeat its last kept token (so that key is counted
 *  more than once by a softmax that reads all slots). */
export interface WrittenMemory extends MemoryRecordData {
  tokenCount: number;
}

export interface MemoryWriterOptions {
  /** References per readback (default 16; lowered to fit the adapter's storage binding size). */
  batchSize?: number;
}

const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class MemoryWriter {
  readonly shape: MemoryShape;
  /** The reference prefix's ids (BOS for `<s>`), at positions [0, prefix.length). */
  readonly prefix: readonly number[];
  readonly batchSize: number;
  private readonly device: GPUDevice;
  private readonly kv: KvCache; // (prefixLen + referenceLength) rows; layers ≤ the last memory layer used
  private readonly headList: GPUBuffer; // (memHeads) u32 kv head indices
  private readonly scores: GPUBuffer; // (memHeads, referenceLength) f32 log-scores, reused per layer
  private readonly positions: GPUBuffer; // (batch, memLayers, memHeads, k) u32
  private readonly keys: GPUBuffer; // (batch, memLayers, memHeads, k, headDim) f32, RoPE applied
  private readonly values: GPUBuffer; // (batch, memLayers, memHeads, k, headDim) f32
  private readonly staging: GPUBuffer; // MAP_READ: keys | values | positions of one batch
  private readonly layers: number; // forward through layers [0, layers)
  /** Only when referenceLength > the model's chunk: un-rotated q (memLayers, referenceLength, heads, headDim)
   *  and k (memLayers, referenceLength, kvHeads, headDim) of a reference run in chunks. */
  private readonly capture: { q: GPUBuffer; k: GPUBuffer } | null;
  private prefixReady = false;
  private busy = false;
  private destroyed = false;

  constructor(
    private readonly model: LlamaModel,
    private readonly run: KernelRunner,
    tokenizer: Tokenizer,
    readonly policy: MemoryPolicy,
    opts: MemoryWriterOptions = {},
  ) {
    const c = model.cfg,
      p = policy;
    this.device = model.device;
    this.prefix = prefixTokens(tokenizer, p);
    this.shape = { memLayers: p.memoryLayers.length, memHeads: p.memoryHeads.length, tokensPerHead: p.tokensPerHead, headDim: c.headDim };
    this.validatePolicy();
    this.layers = Math.max(...p.memoryLayers) + 1;
    const vectors = this.shape.memLayers * this.shape.memHeads * p.tokensPerHead;
    const recordBytes = vectors * c.headDim * 4;
    const fit = Math.max(1, Math.floor(this.device.limits.maxStorageBufferBindingSize / recordBytes));
    this.batchSize = Math.min(opts.batchSize ?? 16, fit);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new InvalidOptionsError(`memory writer: batchSize must be a positive integer, got ${opts.batchSize}`, { option: 'batchSize' });
    }
    const buf = (label: string, bytes: number, usage = storage) => this.device.createBuffer({ label, size: Math.max(16, bytes), usage });
    this.kv = model.createCache(this.prefix.length + p.referenceLength);
    this.headList = buf('memory_writer.heads', 4 * this.shape.memHeads);
    this.device.queue.writeBuffer(this.headList, 0, Uint32Array.from(p.memoryHeads));
    this.scores = buf('memory_writer.scores', 4 * this.shape.memHeads * p.referenceLength);
    this.positions = buf('memory_writer.positions', 4 * vectors * this.batchSize);
    this.keys = buf('memory_writer.keys', recordBytes * this.batchSize);
    this.values = buf('memory_writer.values', recordBytes * this.batchSize);
    const rows = this.shape.memLayers * p.referenceLength;
    this.capture =
      p.referenceLength <= model.maxChunk
        ? null
        : {
            q: buf('memory_writer.capture.q', 4 * rows * c.numHeads * c.headDim),
            k: buf('memory_writer.capture.k', 4 * rows * c.numKvHeads * c.headDim),
          };
    this.staging = buf(
      'memory_writer.readback',
      (2 * recordBytes + 4 * vectors) * this.batchSize,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    );
  }

  /**
   * Encodes references (token ids each, prefix not included) into sparse memories, in order.
   * `signal` is checked before every batch; `onBatch` reports progress after each.
   */
  async encode(
    refs: readonly (readonly number[])[],
    signal?: AbortSignal,
    onBatch?: (done: number, total: number) => void,
  ): Promise<WrittenMemory[]> {
    if (this.destroyed) throw new EngineStateError('memory writer: encode() after destroy()');
    if (this.busy) throw new EngineStateError('memory writer: encode() while another encode() runs; await it first');
    refs.forEach((ids, i) => this.validateReference(ids, i));
    this.busy = true;
    try {
      const out: WrittenMemory[] = [];
      for (let b0 = 0; b0 < refs.length; b0 += this.batchSize) {
        if (signal?.aborted)
          throw new GenerationAbortedError(`memory encoding aborted after ${b0} of ${refs.length} references`, { done: b0 });
        out.push(...(await this.encodeBatch(refs.slice(b0, b0 + this.batchSize))));
        onBatch?.(out.length, refs.length);
      }
      return out;
    } finally {
      this.busy = false;
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.kv.destroy();
    for (const b of [this.headList, this.scores, this.positions, this.keys, this.values, this.staging]) b.destroy();
    this.capture?.q.destroy();
    this.capture?.k.destroy();
  }

  private async encodeBatch(batch: readonly (readonly number[])[]): Promise<WrittenMemory[]> {
    const s = this.shape,
      vectors = s.memLayers * s.memHeads * s.tokensPerHead,
      vecBytes = vectors * s.headDim * 4;
    const kBytes = vecBytes * batch.length,
      pBytes = 4 * vectors * batch.length;
    this.device.pushErrorScope('validation');
    try {
      if (!this.prefixReady) this.recordPrefix();
      batch.forEach((ids, b) => this.recordReference(ids, b));
      this.step('memory.readback', () => {
        this.run.copy(this.keys, 0, this.staging, 0, kBytes);
        this.run.copy(this.values, 0, this.staging, kBytes, kBytes);
        this.run.copy(this.positions, 0, this.staging, 2 * kBytes, pBytes);
      });
    } finally {
      const err = await this.device.popErrorScope();
      // biome-ignore lint/correctness/noUnsafeFinally: a validation error explains whatever the encoding above threw, so it wins
      if (err) throw new GPUExecutionError(`memory writer: GPU validation failed: ${err.message}`);
    }
    try {
      await this.staging.mapAsync(GPUMapMode.READ, 0, 2 * kBytes + pBytes);
    } catch (err) {
      throw new GPUExecutionError(`memory writer: reading memories back failed: ${(err as Error).message}`);
    }
    const bytes = this.staging.getMappedRange(0, 2 * kBytes + pBytes);
    const keys = new Float32Array(bytes, 0, kBytes / 4),
      values = new Float32Array(bytes, kBytes, kBytes / 4);
    const positions = new Uint32Array(bytes, 2 * kBytes, pBytes / 4);
    const per = vectors * s.headDim;
    const out = batch.map(
      (ids, b): WrittenMemory => ({
        keys: keys.slice(b * per, (b + 1) * per),
        values: values.slice(b * per, (b + 1) * per),
        positions: Uint16Array.from(positions.subarray(b * vectors, (b + 1) * vectors)),
        tokenCount: ids.length,
      }),
    );
    this.staging.unmap();
    return out;
  }

  /** One submitted step; a failure while recording drops the step so the runner stays usable. */
  private step(label: string, record: () => void): void {
    this.run.begin(label);
    try {
      record();
    } catch (err) {
      this.run.abandon();
      throw err;
    }
    this.run.submit();
  }

  /** The prefix's keys/values into cache rows [0, prefixLen), in chunks the model's activations hold. */
  private recordPrefix(): void {
    const P = this.prefix.length,
      chunk = this.model.maxChunk;
    for (let pos = 0; pos < P; pos += chunk) {
      const ids = this.prefix.slice(pos, pos + chunk);
      this.model.writeTokens(ids);
      this.step('memory.prefix', () => this.model.record(this.run, ids.length, pos, { kv: this.kv, layers: this.layers }));
    }
    this.prefixReady = true;
  }

  /**
   * Forward of one reference with the selection of each memory layer, then the K/V gather into
   * record slot b. A reference longer than the model's chunk runs in chunks (one submit each, as
   * the ids buffer holds one chunk), its un-rotated q and k copied aside, and is scored at the end.
   */
  private recordReference(ids: readonly number[], b: number): void {
    const P = this.prefix.length,
      n = ids.length,
      chunk = this.model.maxChunk;
    if (n <= chunk) {
      this.model.writeTokens(ids);
      this.step(`memory.reference.${b}`, () => {
        this.model.record(this.run, n, P, {
          kv: this.kv,
          layers: this.layers,
          onProjected: (layer, q, kOffset) => {
            const li = this.policy.memoryLayers.indexOf(layer);
            if (li >= 0) this.recordSelection(li, b, n, q, 0, this.kv.layers[layer].k, kOffset);
          },
        });
        this.recordGather(b);
      });
      return;
    }
    const cap = this.capture!,
      c = this.model.cfg,
      L = this.policy.referenceLength;
    const qRow = c.numHeads * c.headDim,
      kRow = c.numKvHeads * c.headDim;
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const m = Math.min(chunk, n - r0),
        last = r0 + m === n;
      this.model.writeTokens(ids.slice(r0, r0 + m));
      this.step(`memory.reference.${b}.${r0}`, () => {
        this.model.record(this.run, m, P + r0, {
          kv: this.kv,
          layers: this.layers,
          onProjected: (layer, q, kOffset) => {
            const li = this.policy.memoryLayers.indexOf(layer);
            if (li < 0) return;
            this.run.copy(q, 0, cap.q, 4 * (li * L + r0) * qRow, 4 * m * qRow);
            this.run.copy(this.kv.layers[layer].k, 4 * kOffset, cap.k, 4 * (li * L + r0) * kRow, 4 * m * kRow);
          },
        });
        if (!last) return;
        this.policy.memoryLayers.forEach((_, li) => this.recordSelection(li, b, n, cap.q, li * L * qRow, cap.k, li * L * kRow));
        this.recordGather(b);
      });
    }
  }

  /** Scores and top-k of memory layer `li` for record slot b, on un-rotated q/k rows of the reference. */
  private recordSelection(li: number, b: number, n: number, q: GPUBuffer, qOffset: number, k: GPUBuffer, kOffset: number): void {
    const c = this.model.cfg,
      s = this.shape;
    encodeMemoryScores(this.run, {
      q,
      qOffset,
      k,
      kOffset,
      headList: this.headList,
      scores: this.scores,
      n,
      prefixLen: 0,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      memHeads: s.memHeads,
    });
    encodeMemoryTopk(this.run, {
      scores: this.scores,
      positions: this.positions,
      n,
      k: s.tokensPerHead,
      memHeads: s.memHeads,
      posBase: this.prefix.length,
      outOffset: this.layerSlot(b, li),
    });
  }

  /** The kept tokens' post-RoPE keys and values of every memory layer into record slot b. */
  private recordGather(b: number): void {
    const c = this.model.cfg,
      s = this.shape,
      P = this.prefix.length;
    this.policy.memoryLayers.forEach((layer, li) =>
      encodeMemoryGather(this.run, {
        positions: this.positions,
        headList: this.headList,
        kCache: this.kv.layers[layer].k,
        vCache: this.kv.layers[layer].v,
        keys: this.keys,
        values: this.values,
        memHeads: s.memHeads,
        k: s.tokensPerHead,
        headDim: c.headDim,
        kvHeads: c.numKvHeads,
        posBase: P,
        rowBase: P,
        posOffset: this.layerSlot(b, li),
        outOffset: this.layerSlot(b, li) * c.headDim,
      }),
    );
  }

  /** Index of the first (head, slot) of memory layer li in record b: (batch, memLayers, memHeads, k). */
  private layerSlot(b: number, li: number): number {
    return (b * this.shape.memLayers + li) * this.shape.memHeads * this.shape.tokensPerHead;
  }

  private validatePolicy(): void {
    const c = this.model.cfg,
      p = this.policy;
    const bad = (what: string, option: string) => {
      throw new InvalidOptionsError(`memory writer: ${what}`, { option });
    };
    if (p.memoryLayers.length === 0 || p.memoryLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= c.numLayers)) {
      bad(`memoryLayers ${JSON.stringify(p.memoryLayers)} must be non-empty indices < ${c.numLayers}`, 'memoryLayers');
    }
    if (p.memoryHeads.length === 0 || p.memoryHeads.some((h) => !Number.isInteger(h) || h < 0 || h >= c.numKvHeads)) {
      bad(`memoryHeads ${JSON.stringify(p.memoryHeads)} must be non-empty indices < ${c.numKvHeads}`, 'memoryHeads');
    }
    if (this.prefix.length + p.referenceLength > 0xffff) bad('prefix + referenceLength must stay below 65536 positions', 'referenceLength');
  }

  private validateReference(ids: readonly number[], i: number): void {
    const p = this.policy,
      vocab = this.model.cfg.vocabSize;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > p.referenceLength) {
      throw new InvalidOptionsError(
        `memory writer: reference ${i} has ${Array.isArray(ids) ? ids.length : 'no'} tokens, ` + `expected 1..${p.referenceLength}`,
        { option: 'refs', index: i },
      );
    }
    const t = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (t >= 0) {
      throw new InvalidOptionsError(`memory writer: reference ${i} token ${t} is ${ids[t]}, not an id below ${vocab}`, {
        option: 'refs',
        index: i,
        position: t,
      });
    }
  }
}
