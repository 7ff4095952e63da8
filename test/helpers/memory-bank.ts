/**
 * A synthetic memory bank with the structure of real attention keys and values, until the writer
 * produces real ones: per (layer, head) a few cluster directions, per-layer scale, a few outlier
 * channels per layer (keys, ×8 — the pattern KIVI quantizes per channel for), RoPE applied to keys at
 * a random position in [0, 128), and Gaussian noise. Seeded: same arguments → same bank.
 */
import { Prng } from '../../src/util/prng';
import type { RecordTensors } from '../../src/memory/codec';
import { vectorsPerRecord, type MemoryShape } from '../../src/memory/types';
import { ropeRef } from '../reference/rope';

export class Gauss {
  private spare: number | null = null;
  constructor(readonly rng: Prng) {}
  next(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = 1 - this.rng.nextFloat(),
      v = this.rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  fill(n: number, sigma = 1): Float32Array {
    return Float32Array.from({ length: n }, () => sigma * this.next());
  }
}

interface LayerStyle {
  scale: number;
  channel: Float32Array;
  dirs: Float32Array[];
}

function layerStyle(g: Gauss, s: MemoryShape, outliers: number, clusters: number): LayerStyle {
  const channel = new Float32Array(s.headDim).fill(1);
  for (let i = 0; i < outliers; i++) channel[Math.floor(g.rng.nextFloat() * s.headDim)] = 8;
  const dirs = Array.from({ length: s.memHeads * clusters }, () => g.fill(s.headDim));
  return { scale: Math.exp(0.8 * g.next()), channel, dirs };
}

/** Rotates pairs (j, j + d/2) of the head at `o` by pos·θ^(−2j/d), θ = 10000: Llama's RoPE (the rope reference). */
function rope(x: Float32Array, o: number, d: number, pos: number): void {
  const invFreq = Float64Array.from({ length: d >> 1 }, (_, j) => 10000 ** ((-2 * j) / d));
  x.set(ropeRef(x.subarray(o, o + d), { rows: 1, heads: 1, headDim: d, startPos: pos, invFreq, style: 'half', angle: 'f64' }), o);
}

/** `records` concatenated records: keys and values (records, memLayers, memHeads, tokensPerHead, headDim). */
export function syntheticBank(shape: MemoryShape, records: number, seed = 1, clusters = 4): RecordTensors {
  const g = new Gauss(new Prng(seed));
  const d = shape.headDim;
  const keyStyles = Array.from({ length: shape.memLayers }, () => layerStyle(g, shape, 4, clusters));
  const valueStyles = Array.from({ length: shape.memLayers }, () => layerStyle(g, shape, 0, clusters));
  const n = records * vectorsPerRecord(shape) * d;
  const keys = new Float32Array(n),
    values = new Float32Array(n);
  let o = 0;
  for (let r = 0; r < records; r++) {
    for (let l = 0; l < shape.memLayers; l++) {
      for (let h = 0; h < shape.memHeads; h++) {
        for (let t = 0; t < shape.tokensPerHead; t++, o += d) {
          for (const [out, st] of [
            [keys, keyStyles[l]],
            [values, valueStyles[l]],
          ] as const) {
            const dir = st.dirs[h * clusters + Math.floor(g.rng.nextFloat() * clusters)];
            const amp = 2 + 0.5 * g.next();
            for (let j = 0; j < d; j++) out[o + j] = st.scale * st.channel[j] * (amp * dir[j] + 0.6 * g.next());
          }
          rope(keys, o, d, Math.floor(g.rng.nextFloat() * 128));
        }
      }
    }
  }
  return { keys, values };
}
