/**
 * GPU memory slots: per memory layer, keys and values of the retrieved references laid out the
 * way the attention kernel reads them, (kvHeads, slots, headDim), allocated once for
 * memoriesPerRetrieval × tokensPerHead slots. Swapping memories rewrites only these buffers.
 */
import type { ModelConfig } from '../model/config';
import type { LayerMemory } from '../model/llama';
import type { MemoryPolicy, MemoryRecordData } from './types';

const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/** Where the context starts, in RoPE positions, relative to the cache row it sits in (after the prefix). */
export function contextPositionOffset(p: MemoryPolicy): number {
  return p.positionScheme === 'parallel' ? p.referenceLength : p.memoriesPerRetrieval * p.referenceLength;
}

/**
 * Rotates a RoPE'd (half-split) vector further by `delta` positions in place: R(p + δ) = R(δ)·R(p).
 * Its leading 2·invFreq.length elements rotate (fewer than headDim with partial rotary).
 */
export function rerotate(v: Float32Array, offset: number, invFreq: Float32Array, delta: number): void {
  const half = invFreq.length;
  for (let i = 0; i < half; i++) {
    const a = Math.fround(delta * invFreq[i]);
    const c = Math.cos(a),
      s = Math.sin(a);
    const x = v[offset + i],
      y = v[offset + i + half];
    v[offset + i] = x * c - y * s;
    v[offset + i + half] = y * c + x * s;
  }
}

export class MemorySlots {
  readonly slots: number; // memoriesPerRetrieval × tokensPerHead
  private readonly keys: GPUBuffer[]; // per memory layer: (kvHeads, slots, headDim) f32
  private readonly values: GPUBuffer[];
  private readonly stagingK: Float32Array<ArrayBuffer>; // (kvHeads, occupied, headDim) for one layer
  private readonly stagingV: Float32Array<ArrayBuffer>;
  private readonly headMask: number;
  private count = 0;
  readonly bytes: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    readonly policy: MemoryPolicy,
    /** Layer l's RoPE frequencies (null: the layer does not rotate, e.g. SmolLM3's NoPE layers). */
    private readonly invFreqOf: (layer: number) => Float32Array | null,
  ) {
    this.slots = policy.memoriesPerRetrieval * policy.tokensPerHead;
    const elems = cfg.numKvHeads * Math.max(1, this.slots) * cfg.headDim;
    this.keys = policy.memoryLayers.map((l) => device.createBuffer({ label: `memory.k.${l}`, size: elems * 4, usage: storage }));
    this.values = policy.memoryLayers.map((l) => device.createBuffer({ label: `memory.v.${l}`, size: elems * 4, usage: storage }));
    this.stagingK = new Float32Array(elems);
    this.stagingV = new Float32Array(elems);
    this.headMask = policy.memoryHeads.reduce((m, h) => (m | (1 << h)) >>> 0, 0);
    this.bytes = 2 * elems * 4 * policy.memoryLayers.length;
  }

  /** Number of occupied slots per kv head (the records' used slots, summed). */
  get occupied(): number {
    return this.count;
  }

  /**
   * Writes `records` (≤ memoriesPerRetrieval, decoded) into the slots, packed: record r fills only
   * its used slots (`rec.slots`, all tokensPerHead by default), so the unused slots of a short
   * reference are never read, rather than counting one key several times in the softmax. For the
   * contiguous scheme, record r's keys are re-rotated from their stored positions to
   * r × referenceLength further on.
   */
  write(records: readonly MemoryRecordData[]): void {
    const p = this.policy,
      c = this.cfg,
      hd = c.headDim,
      k = p.tokensPerHead;
    if (records.length > p.memoriesPerRetrieval) throw new RangeError(`${records.length} records for ${p.memoriesPerRetrieval} slots`);
    const used = records.map((rec) => {
      const n = rec.slots ?? k;
      if (!Number.isInteger(n) || n < 1 || n > k) throw new RangeError(`a record uses ${n} slots; expected 1..${k}`);
      return n;
    });
    const first = used.map((_, r) => used.slice(0, r).reduce((a, b) => a + b, 0));
    const S = used.reduce((a, b) => a + b, 0); // the kernel reads (kvHeads, count, headDim) with stride count
    const memHeads = p.memoryHeads.length;
    p.memoryLayers.forEach((layer, li) => {
      const invFreq = this.invFreqOf(layer);
      this.stagingK.fill(0);
      this.stagingV.fill(0);
      records.forEach((rec, r) => {
        const delta = p.positionScheme === 'contiguous' ? r * p.referenceLength : 0;
        p.memoryHeads.forEach((g, gi) => {
          for (let t = 0; t < used[r]; t++) {
            const src = ((li * memHeads + gi) * k + t) * hd;
            const dst = (g * S + first[r] + t) * hd;
            this.stagingK.set(rec.keys.subarray(src, src + hd), dst);
            this.stagingV.set(rec.values.subarray(src, src + hd), dst);
            if (delta && invFreq) rerotate(this.stagingK, dst, invFreq, delta);
          }
        });
      });
      this.device.queue.writeBuffer(this.keys[li], 0, this.stagingK);
      this.device.queue.writeBuffer(this.values[li], 0, this.stagingV);
    });
    this.count = S;
  }

  clear(): void {
    this.count = 0;
  }

  /** Per model layer: the slots for memory layers, null elsewhere (what LlamaModel.record takes). */
  layerMemory(): (LayerMemory | null)[] {
    const out: (LayerMemory | null)[] = new Array(this.cfg.numLayers).fill(null);
    if (this.count === 0) return out;
    this.policy.memoryLayers.forEach((l, li) => {
      out[l] = { k: this.keys[li], v: this.values[li], count: this.count, headMask: this.headMask };
    });
    return out;
  }

  destroy(): void {
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
