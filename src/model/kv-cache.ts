/**
 * The context KV cache, allocated once at load for the configured context length (style.md rule 5).
 * `length` is how many positions hold valid keys/values; rewinding is just lowering it.
 */
import type { ModelConfig } from './config';

export interface LayerCache {
  k: GPUBuffer; // (ctx, kvHeads, headDim) f32 or packed f16 (dtype), RoPE applied
  v: GPUBuffer; // (ctx, kvHeads, headDim)
}

/** The cache's element type: f32, or f16 (two per u32, halving its memory; no shader-f16 needed). */
export type KvDtype = 'f32' | 'f16';

export class KvCache {
  readonly layers: LayerCache[] = [];
  /** Token ids whose keys/values are in the cache, in position order. */
  readonly tokens: number[] = [];
  readonly rowElems: number; // kvHeads * headDim: elements per position
  readonly bytes: number;

  constructor(
    device: GPUDevice,
    cfg: ModelConfig,
    readonly contextLength: number,
    readonly dtype: KvDtype = 'f32',
  ) {
    this.rowElems = cfg.numKvHeads * cfg.headDim;
    const size = Math.max(16, contextLength * this.rowElems * (dtype === 'f16' ? 2 : 4));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    for (let l = 0; l < cfg.numLayers; l++) {
      this.layers.push({
        k: device.createBuffer({ label: `kv.k.${l}`, size, usage }),
        v: device.createBuffer({ label: `kv.v.${l}`, size, usage }),
      });
    }
    this.bytes = size * 2 * cfg.numLayers;
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Length of the longest prefix of `ids` already in the cache. */
  commonPrefix(ids: ArrayLike<number>): number {
    const n = Math.min(ids.length, this.tokens.length);
    let i = 0;
    while (i < n && this.tokens[i] === ids[i]) i++;
    return i;
  }

  /** Forgets positions from `length` on; their slots are overwritten by later tokens. */
  truncate(length: number): void {
    this.tokens.length = Math.min(length, this.tokens.length);
  }

  destroy(): void {
    for (const l of this.layers) {
      l.k.destroy();
      l.v.destroy();
    }
    this.layers.length = 0;
  }
}
