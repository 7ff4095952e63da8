/**
 * GPU memory slots: per memory layer, keys and values of the retrieved references laid out the
 * way the attention kernel reads them, (kvHeads, slots, headDim), allocated once for
 * memoriesPerRetrieval × tokensPerHead slots, twice: the front set is what steps read, the back
 * set takes the next retrieval's memories (`stage`, as soon as they arrive, while steps still read
 * the front) and `swap` makes it the front in O(1). Swapping memories rewrites only these buffers.
 */
import type { ModelConfig } from '../model/config';
import type { LayerMemory } from '../model/llama';
import type { MemoryPolicy, MemoryRecordData } from './types';

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

/** One set of slot buffers and what the layers read from it. */
interface SlotSet {
  keys: GPUBuffer[]; // per memory layer: (kvHeads, slots, headDim) f32
  values: GPUBuffer[];
  count: number; // occupied slots per kv head
  layers: (LayerMemory | null)[]; // per model layer, built when the set is written (steps reuse it)
}

export class MemorySlots {
  readonly slots: number; // memoriesPerRetrieval × tokensPerHead
  private readonly sets: [SlotSet, SlotSet];
  private front = 0;
  private staged = false;
  private readonly stagingK: Float32Array<ArrayBuffer>; // (kvHeads, occupied, headDim) for one layer
  private readonly stagingV: Float32Array<ArrayBuffer>;
  private readonly headMask: number;
  readonly bytes: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    readonly policy: MemoryPolicy,
    /** Layer l's RoPE frequencies (null: the layer does not rotate, e.g. SmolLM3's NoPE layers). */
    private readonly invFreqOf: (layer: number) => Float32Array | null,
  ) {
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    this.slots = policy.memoriesPerRetrieval * policy.tokensPerHead;
    const elems = cfg.numKvHeads * Math.max(1, this.slots) * cfg.headDim;
    const set = (half: string): SlotSet => ({
      keys: policy.memoryLayers.map((l) => device.createBuffer({ label: `memory.k.${l}.${half}`, size: elems * 4, usage: storage })),
      values: policy.memoryLayers.map((l) => device.createBuffer({ label: `memory.v.${l}.${half}`, size: elems * 4, usage: storage })),
      count: 0,
      layers: new Array(cfg.numLayers).fill(null),
    });
    this.sets = [set('a'), set('b')];
    this.stagingK = new Float32Array(elems);
    this.stagingV = new Float32Array(elems);
    this.headMask = policy.memoryHeads.reduce((m, h) => (m | (1 << h)) >>> 0, 0);
    this.bytes = 2 * 2 * elems * 4 * policy.memoryLayers.length;
  }

  /** Number of occupied slots per kv head in the front set (the records' used slots, summed). */
  get occupied(): number {
    return this.sets[this.front].count;
  }

  /** True while staged memories wait for `swap`. */
  get hasStaged(): boolean {
    return this.staged;
  }

  /**
   * Writes `records` (≤ memoriesPerRetrieval, decoded) into the back set, packed: record r fills
   * only its used slots (`rec.slots`, all tokensPerHead by default), so the unused slots of a short
   * reference are never read, rather than counting one key several times in the softmax. For the
   * contiguous scheme, record r's keys are re-rotated from their stored positions to
   * r × referenceLength further on. Steps keep reading the front set until `swap`.
   */
  stage(records: readonly MemoryRecordData[]): void {
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
    const back = this.sets[1 - this.front];
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
      this.device.queue.writeBuffer(back.keys[li], 0, this.stagingK);
      this.device.queue.writeBuffer(back.values[li], 0, this.stagingV);
    });
    back.count = S;
    back.layers = new Array(c.numLayers).fill(null);
    if (S > 0)
      p.memoryLayers.forEach((l, li) => {
        back.layers[l] = { k: back.keys[li], v: back.values[li], count: S, headMask: this.headMask };
      });
    this.staged = true;
  }

  /** Makes the staged set the one steps read (O(1): no copy, no upload). */
  swap(): void {
    if (!this.staged) throw new RangeError('MemorySlots.swap() with nothing staged');
    this.front = 1 - this.front;
    this.staged = false;
  }

  /** stage + swap: the next step reads `records`. */
  write(records: readonly MemoryRecordData[]): void {
    this.stage(records);
    this.swap();
  }

  /** Per model layer: the front set's slots for memory layers, null elsewhere (what LlamaModel.record takes); the same array until the next swap. */
  layerMemory(): (LayerMemory | null)[] {
    return this.sets[this.front].layers;
  }

  destroy(): void {
    for (const s of this.sets) for (const b of [...s.keys, ...s.values]) b.destroy();
  }
}
