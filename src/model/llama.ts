/**
 * The decoder forward pass of every architecture in model/arch (Llama's block, with the extras a
 * config declares: q/k biases, per-head q/k norms, per-layer sliding windows, layers without
 * RoPE): records one step's dispatches into the runner's single command encoder. Activations are
 * allocated at load for the largest chunk; the KV cache for the whole context. The engine decides
 * chunking, sampling and readback.
 *
 * A decode-sized step (a GEMV path, kernels/matmul.ts) runs a Llama block in six dispatches: the
 * attention norm fused into one q/k/v GEMV, the q/k/v scatter (q/k norms, RoPE, cache write),
 * attention, the output projection with the residual add, the MLP norm fused into one gate/up GEMV
 * with the activation, and the down projection with the residual add. Prefill chunks, and the
 * llama.cpp-rounding mode (its input rounding needs the normed activations), keep the norms apart.
 */
import type { KernelRunner } from '../gpu/runner';
import { encodeActivationRound } from '../kernels/activation_round';
import { encodeAttention } from '../kernels/attention';
import { encodeEmbedding } from '../kernels/embedding';
import { encodeMatmul, gemvPathFor, type MatmulArgs, type MatmulNorm } from '../kernels/matmul';
import type { GpuMatrix } from '../kernels/matrix';
import { encodeQkvScatter } from '../kernels/qkv_scatter';
import { encodeRmsNorm } from '../kernels/rms_norm';
import { encodeRope, ropeInvFreqBuffer } from '../kernels/rope';
import { encodeSiluMul } from '../kernels/silu_mul';
import { encodeSoftcap } from '../kernels/softcap';
import { ropeInvFreq, ropeScale, type ModelConfig } from './config';
import { KvCache, type KvDtype } from './kv-cache';
import type { ModelWeights } from './weights';

/** Memory slots for one layer, as the attention kernel reads them (explicit memory). */
export interface LayerMemory {
  k: GPUBuffer; // (kvHeads, count, headDim) f32, RoPE applied
  v: GPUBuffer; // (kvHeads, count, headDim) f32
  count: number;
  headMask?: number; // bit h: kv head h reads the slots (default all)
}

export interface RecordOptions {
  /** Memory slots per layer (null or absent: none). */
  memory?: (LayerMemory | null)[];
  /** The cache to read and extend (default: the model's own); the memory writer brings its own. */
  kv?: KvCache;
  /** RoPE position of cache row i is i + positionOffset (explicit memory's parallel layout shifts the context). */
  positionOffset?: number;
  /** Run only layers [0, layers) and skip the final norm and logits (the memory writer). */
  layers?: number;
  /** false: skip the final norm, LM head and soft-cap (a prompt chunk whose logits nobody reads); default true. */
  logits?: boolean;
  /**
   * Called after layer `layer`'s projections, before RoPE: q holds (m, heads, headDim) and
   * kv.k[layer] holds (m, kvHeads, headDim) at element offset kOffset, both not yet rotated.
   * Lets the memory writer record its selection kernel on the un-rotated vectors.
   */
  onProjected?: (layer: number, q: GPUBuffer, kOffset: number) => void;
}

const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class LlamaModel {
  readonly kv: KvCache;
  readonly logits: GPUBuffer; // (vocab) f32: logits of the step's last row
  /** (maxChunk) u32 input ids: written by writeTokens, or by the GPU sampler for the next decode step. */
  readonly tokens: GPUBuffer;
  private readonly x: GPUBuffer; // (maxChunk, hidden) residual stream
  private readonly xn: GPUBuffer; // (maxChunk, hidden) normed
  private readonly qkv: GPUBuffer; // (maxChunk, (heads + 2*kvHeads)*headDim): the q/k/v projection, before its scatter
  private readonly q: GPUBuffer; // (maxChunk, heads*headDim)
  private readonly attn: GPUBuffer; // (maxChunk, heads*headDim)
  private readonly gateUp: GPUBuffer; // (maxChunk, 2*intermediate): gate | up, where the activation is not fused
  private readonly act: GPUBuffer; // (maxChunk, intermediate): act(gate) * up
  private readonly invFreq: GPUBuffer; // (headDim/2) f32
  private readonly localInvFreq: GPUBuffer | null; // (headDim/2) f32: Gemma 3's windowed layers' own RoPE base
  private readonly invFreqs: { global: Float32Array; local: Float32Array | null };
  private readonly rounded: GPUBuffer | null; // (maxChunk, max(hidden, heads*headDim, intermediate)): matmul inputs rounded as llama.cpp does
  readonly activationBytes: number;

  constructor(
    readonly device: GPUDevice,
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
    contextLength: number,
    readonly maxChunk: number,
    kvDtype: KvDtype = 'f32',
  ) {
    const c = cfg,
      n = maxChunk;
    const buf = (label: string, elems: number) => device.createBuffer({ label, size: Math.max(16, elems * 4), usage: storage });
    this.kv = new KvCache(device, cfg, contextLength, kvDtype);
    this.tokens = buf('act.tokens', n);
    this.x = buf('act.x', n * c.hiddenSize);
    this.xn = buf('act.xn', n * c.hiddenSize);
    this.qkv = buf('act.qkv', n * this.qkvWidth);
    this.q = buf('act.q', n * c.numHeads * c.headDim);
    this.attn = buf('act.attn', n * c.numHeads * c.headDim);
    this.gateUp = buf('act.gate_up', n * 2 * c.intermediateSize);
    this.act = buf('act.mlp', n * c.intermediateSize);
    this.logits = buf('act.logits', c.vocabSize);
    this.invFreqs = {
      global: ropeInvFreq(cfg, { contextLength }),
      local: cfg.ropeLocalTheta === null ? null : ropeInvFreq(cfg, { localTheta: cfg.ropeLocalTheta }),
    };
    this.invFreq = ropeInvFreqBuffer(device, this.invFreqs.global);
    this.localInvFreq = this.invFreqs.local && ropeInvFreqBuffer(device, this.invFreqs.local);
    const widest = Math.max(c.hiddenSize, c.numHeads * c.headDim, c.intermediateSize);
    this.rounded = weights.inputRounding.size > 0 ? buf('act.rounded', n * widest) : null;
    this.activationBytes =
      4 * n * (1 + 2 * c.hiddenSize + this.qkvWidth + 2 * c.numHeads * c.headDim + 3 * c.intermediateSize) +
      4 * c.vocabSize +
      (this.rounded ? 4 * n * widest : 0);
  }

  /** Columns of the q/k/v projection: heads q vectors, then kvHeads k and kvHeads v vectors. */
  private get qkvWidth(): number {
    return (this.cfg.numHeads + 2 * this.cfg.numKvHeads) * this.cfg.headDim;
  }

  /** Whether an m-row step fuses norms and the activation into its GEMVs (not in the llama.cpp-rounding mode, whose input rounding needs the normed rows). */
  private fuses(m: number): boolean {
    return !this.weights.llamaCppRounding && gemvPathFor(this.device, m) !== null;
  }

  /** A matmul; in the llama.cpp-rounding mode its input is first rounded as llama.cpp's CPU backend rounds it. */
  private matmul(run: KernelRunner, a: MatmulArgs): void {
    const mode = this.weights.inputRounding.get(a.w);
    if (mode && this.rounded) {
      encodeActivationRound(run, { x: a.x, xOffset: a.xOffset, out: this.rounded, rows: a.m, cols: a.w.cols, mode });
      a = { ...a, x: this.rounded, xOffset: 0 };
    }
    encodeMatmul(run, a);
  }

  /** Uploads the ids of the next chunk; call before recording the step that uses them. */
  writeTokens(ids: ArrayLike<number>): void {
    this.device.queue.writeBuffer(this.tokens, 0, Uint32Array.from(ids));
  }

  /**
   * Records the forward pass of `m` tokens (already written with writeTokens) into cache rows
   * startPos..startPos+m-1, and the logits of the last row into `logits`.
   */
  record(run: KernelRunner, m: number, startPos: number, opts: RecordOptions = {}): void {
    const c = this.cfg,
      w = this.weights;
    const kv = opts.kv ?? this.kv,
      pos = startPos + (opts.positionOffset ?? 0);
    const layers = opts.layers ?? c.numLayers;
    encodeEmbedding(run, { table: w.embed, tokens: this.tokens, count: m, out: this.x, scale: c.embedScale });
    for (let l = 0; l < layers; l++) this.recordLayer(run, l, m, startPos, pos, kv, opts);
    if (layers < c.numLayers || opts.logits === false) return;
    const last = (m - 1) * c.hiddenSize;
    if (this.fuses(1)) {
      this.matmul(run, { x: this.x, xOffset: last, w: w.lmHead, y: this.logits, m: 1, norm: this.normOf(w.finalNorm) });
    } else {
      this.norm(run, this.x, w.finalNorm, this.xn, 1, last);
      this.matmul(run, { x: this.xn, w: w.lmHead, y: this.logits, m: 1 });
    }
    if (c.finalSoftcap !== null) encodeSoftcap(run, { x: this.logits, n: c.vocabSize, cap: c.finalSoftcap });
  }

  /** One block: norm, attention (q/k norms, RoPE, window, memory), residual; norm, MLP, residual; Gemma's sandwich norms. */
  private recordLayer(run: KernelRunner, l: number, m: number, startPos: number, pos: number, kv: KvCache, opts: RecordOptions): void {
    const c = this.cfg,
      lw = this.weights.layers[l],
      cache = kv.layers[l],
      kvOffset = startPos * kv.rowElems;
    const fuse = this.fuses(m);
    this.project(run, lw.qkv, lw.qkvBias, this.qkv, m, fuse ? this.normOf(lw.attnNorm) : null, lw.attnNorm);
    const rope = c.layerRope[l];
    const invFreq = this.usesLocalRope(l) ? this.localInvFreq! : this.invFreq;
    const hooked = opts.onProjected !== undefined;
    if (hooked && kv.dtype !== 'f32')
      throw new Error('LlamaModel.record: onProjected needs an f32 cache (the memory writer makes its own)');
    encodeQkvScatter(run, {
      kvDtype: kv.dtype,
      qkv: this.qkv,
      q: this.q,
      k: cache.k,
      v: cache.v,
      kvOffset,
      rows: m,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      rope: rope && !hooked,
      startPos: pos,
      invFreq,
      rotaryDim: c.rotaryDim,
      scale: ropeScale(c),
      norm: lw.qNorm && lw.kNorm ? { q: lw.qNorm, k: lw.kNorm, eps: c.rmsNormEps, offset: c.normOffset } : undefined,
    });
    if (hooked) {
      opts.onProjected!(l, this.q, kvOffset);
      if (rope) this.rope(run, cache.k, kvOffset, m, pos, invFreq);
    }
    const window = c.layerWindows[l];
    const mem = opts.memory?.[l];
    encodeAttention(run, {
      q: this.q,
      out: this.attn,
      kCache: cache.k,
      vCache: cache.v,
      kvDtype: kv.dtype,
      m,
      startPos,
      nHeads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      scale: c.attnScale,
      window: window ?? undefined,
      softcap: c.attnSoftcap ?? undefined,
      memory: mem && mem.count > 0 ? mem : undefined,
    });
    if (lw.postAttnNorm) {
      this.matmul(run, { x: this.attn, w: lw.o, y: this.xn, m });
      this.norm(run, this.xn, lw.postAttnNorm, this.x, m, 0, true);
    } else this.matmul(run, { x: this.attn, w: lw.o, bias: lw.oBias ?? undefined, y: this.x, m, accumulate: true });
    this.mlp(run, lw.gateUp, lw.mlpNorm, m, fuse);
    if (lw.postFfnNorm) {
      this.matmul(run, { x: this.act, w: lw.down, y: this.xn, m });
      this.norm(run, this.xn, lw.postFfnNorm, this.x, m, 0, true);
    } else this.matmul(run, { x: this.act, w: lw.down, y: this.x, m, accumulate: true });
  }

  private normOf(weight: GPUBuffer): MatmulNorm {
    return { weight, eps: this.cfg.rmsNormEps, offset: this.cfg.normOffset };
  }

  /**
   * The residual stream's m rows, normed (fused into the GEMV when `norm` is given, else by its own
   * dispatch into xn), times `mats` (one fused matrix, or several side by side) into the columns of `y`.
   */
  private project(
    run: KernelRunner,
    mats: GpuMatrix[],
    bias: GPUBuffer | null,
    y: GPUBuffer,
    m: number,
    norm: MatmulNorm | null,
    normW: GPUBuffer,
  ): void {
    if (!norm) this.norm(run, this.x, normW, this.xn, m);
    const yStride = mats.reduce((a, w) => a + w.rows, 0);
    let col = 0;
    for (const w of mats) {
      const x = norm ? this.x : this.xn;
      this.matmul(run, { x, w, y, yOffset: col, yStride, m, bias: bias ?? undefined, biasOffset: col, norm: norm ?? undefined });
      col += w.rows;
    }
  }

  /** The MLP's norm, gate and up projections and activation into `act`: one GLU GEMV where it fuses. */
  private mlp(run: KernelRunner, gateUp: GpuMatrix[], normW: GPUBuffer, m: number, fuse: boolean): void {
    const c = this.cfg;
    const glu = fuse && gateUp.length === 1 && gateUp[0].parts.length === 1;
    if (glu) {
      this.matmul(run, { x: this.x, w: gateUp[0], y: this.act, m, norm: this.normOf(normW), glu: c.mlpAct });
      return;
    }
    this.project(run, gateUp, null, this.gateUp, m, fuse ? this.normOf(normW) : null, normW);
    encodeSiluMul(run, {
      gate: this.gateUp,
      up: this.gateUp,
      upOffset: c.intermediateSize,
      out: this.act,
      n: m * c.intermediateSize,
      cols: c.intermediateSize,
      inStride: 2 * c.intermediateSize,
      act: c.mlpAct,
      geluF16Table: c.mlpAct === 'gelu_tanh' && this.weights.llamaCppRounding,
    });
  }

  /** RMSNorm of `rows` hidden-size rows (from element `xOffset`) into y, or added onto y (`accumulate`: a sandwich norm's residual). */
  private norm(run: KernelRunner, x: GPUBuffer, weight: GPUBuffer, y: GPUBuffer, rows: number, xOffset = 0, accumulate = false): void {
    const c = this.cfg;
    encodeRmsNorm(run, { x, xOffset, weight, y, rows, cols: c.hiddenSize, eps: c.rmsNormEps, weightOffset: c.normOffset, accumulate });
  }

  /** Gemma 3: windowed layers rotate with the local base. */
  private usesLocalRope(l: number): boolean {
    return this.localInvFreq !== null && this.cfg.layerWindows[l] !== null;
  }

  /** Layer l's RoPE frequencies as the kernel applies them (null: a layer without RoPE); memory slots re-rotate with them. */
  layerInvFreq(l: number): Float32Array | null {
    if (!this.cfg.layerRope[l]) return null;
    return this.usesLocalRope(l) ? this.invFreqs.local : this.invFreqs.global;
  }

  /** RoPE on this step's q rows and on the k rows it wrote to the cache at `kOffset`. */
  private rope(run: KernelRunner, k: GPUBuffer, kOffset: number, m: number, pos: number, invFreq: GPUBuffer): void {
    const c = this.cfg;
    const common = {
      rows: m,
      headDim: c.headDim,
      rotaryDim: c.rotaryDim,
      scale: ropeScale(c),
      startPos: pos,
      invFreq,
      style: 'half',
    } as const;
    encodeRope(run, { x: this.q, heads: c.numHeads, ...common });
    encodeRope(run, { x: k, offset: kOffset, heads: c.numKvHeads, ...common });
  }

  /** A second cache of the same geometry (the memory writer's scratch context). */
  createCache(contextLength: number): KvCache {
    return new KvCache(this.device, this.cfg, contextLength);
  }

  destroy(): void {
    this.kv.destroy();
    for (const b of [
      this.tokens,
      this.x,
      this.xn,
      this.qkv,
      this.q,
      this.attn,
      this.gateUp,
      this.act,
      this.logits,
      this.invFreq,
      this.localInvFreq,
      this.rounded,
    ])
      b?.destroy();
  }
}
