/**
 * Weight formats a GpuMatrix can hold: one entry per format, saying what a loader streams in and
 * how a row part lies in its GPU buffer for the matrix kernels (shaders/lib/weights_*.wgsl).
 *
 * Streamed bytes are f32 or packed f16 for the float formats, and ggml's block layout for the
 * quantized ones (the bytes of a GGUF tensor, or what model/quantize.ts writes):
 *   q8_0  32 values: f16 d, 32 × i8 q                        value = d·q               34 bytes
 *   q4_0  32 values: f16 d, 16 bytes; byte j holds q[j] (low nibble) and q[j + 16] (high)
 *                                                            value = d·(q − 8)         18 bytes
 *   q4_k  256 values: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32,
 *         128 bytes of nibbles (64-value chunk c: byte 32c + l holds value 64c + l low, 64c + 32 + l
 *         high)                                              value = d·sc·q − dmin·m   144 bytes
 *   q6_k  256 values: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 × i8 scales (one per
 *         16 values), f16 d                                  value = d·sc·(q − 32)     210 bytes
 * On the GPU every read must be an aligned u32, so q8_0 and q4_0 parts are stored as structure of
 * arrays ([every block's quants][every block's f16 scale, two per u32]: the same bytes), q4_k
 * blocks as they are (144 is a multiple of 4), q6_k blocks padded to 212 bytes (+1%).
 */
import type { ArgCheck } from './check';

export type WeightFormat = 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k';

export interface FormatSpec {
  readonly name: WeightFormat;
  /** Define the WGSL kernels are compiled with (null: f32). */
  readonly define: string | null;
  /** Values per block (1 for f32, 2 for packed f16: one u32). */
  readonly blockElems: number;
  /** Bytes per block as streamed in. */
  readonly streamBlockBytes: number;
  /** Bytes per block on the GPU (amortized for structure-of-arrays formats). */
  readonly gpuBlockBytes: number;
  /** Writes must start on an even block of their part (two f16 scales share a u32). */
  readonly pairedScales: boolean;
  /** Splits `src` (whole streamed blocks, the first being block `block` of the part) into buffer writes. */
  place(src: Uint8Array, block: number, partBlocks: number): { offset: number; bytes: Uint8Array }[];
}

/** Writes of padded copies: `queue.writeBuffer` takes lengths that are multiples of 4. */
function padded4(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 4 === 0) return bytes;
  const out = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  out.set(bytes);
  return out;
}

const plain = (name: 'f32' | 'f16', bytes: number): FormatSpec => ({
  name,
  define: name === 'f16' ? 'F16' : null,
  blockElems: 4 / bytes,
  streamBlockBytes: 4,
  gpuBlockBytes: 4,
  pairedScales: false,
  place: (src, block) => [{ offset: block * 4, bytes: src }],
});

/** q8_0 and q4_0: `quantBytes` of quants after a 2-byte f16 scale per block, stored as two arrays. */
function scaledBlocks(name: 'q8_0' | 'q4_0', quantBytes: number): FormatSpec {
  const blockBytes = 2 + quantBytes;
  return {
    name,
    define: name.toUpperCase(),
    blockElems: 32,
    streamBlockBytes: blockBytes,
    gpuBlockBytes: blockBytes,
    pairedScales: true,
    place(src, block, partBlocks) {
      const n = src.length / blockBytes;
      const quants = new Uint8Array(n * quantBytes);
      const scales = new Uint8Array(n * 2);
      for (let b = 0; b < n; b++) {
        scales[2 * b] = src[b * blockBytes];
        scales[2 * b + 1] = src[b * blockBytes + 1];
        quants.set(src.subarray(b * blockBytes + 2, (b + 1) * blockBytes), b * quantBytes);
      }
      return [
        { offset: block * quantBytes, bytes: quants },
        { offset: partBlocks * quantBytes + block * 2, bytes: padded4(scales) },
      ];
    },
  };
}

/** q4_k and q6_k: blocks kept whole, each padded to `gpuBytes`. */
function wholeBlocks(name: 'q4_k' | 'q6_k', streamBytes: number, gpuBytes: number): FormatSpec {
  return {
    name,
    define: name.toUpperCase(),
    blockElems: 256,
    streamBlockBytes: streamBytes,
    gpuBlockBytes: gpuBytes,
    pairedScales: false,
    place(src, block) {
      if (streamBytes === gpuBytes) return [{ offset: block * gpuBytes, bytes: src }];
      const n = src.length / streamBytes;
      const out = new Uint8Array(n * gpuBytes);
      for (let b = 0; b < n; b++) out.set(src.subarray(b * streamBytes, (b + 1) * streamBytes), b * gpuBytes);
      return [{ offset: block * gpuBytes, bytes: out }];
    },
  };
}

export const weightFormats: Record<WeightFormat, FormatSpec> = {
  f32: plain('f32', 4),
  f16: plain('f16', 2),
  q8_0: scaledBlocks('q8_0', 32),
  q4_0: scaledBlocks('q4_0', 16),
  q4_k: wholeBlocks('q4_k', 144, 144),
  q6_k: wholeBlocks('q6_k', 210, 212),
};

export const quantizedFormats = ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as const satisfies readonly WeightFormat[];

export function isQuantized(f: WeightFormat): boolean {
  return weightFormats[f].blockElems >= 32;
}

/** Streamed bytes of a (rows, cols) matrix in format `f`. */
export function streamBytes(f: WeightFormat, rows: number, cols: number): number {
  const s = weightFormats[f];
  return rows * (cols / s.blockElems) * s.streamBlockBytes;
}

/** GPU bytes of a part of `rows` rows (padded to a multiple of 4). */
export function partBytes(f: WeightFormat, rows: number, cols: number): number {
  const s = weightFormats[f];
  return Math.ceil((rows * (cols / s.blockElems) * s.gpuBlockBytes) / 4) * 4;
}

/** Fails `c` unless `cols`, the columns of `tensor`, are a whole number of blocks of `f`. */
export function checkCols(c: ArgCheck, tensor: string, f: WeightFormat, cols: number): void {
  const per = weightFormats[f].blockElems;
  c.that(cols % per === 0, tensor, `columns a multiple of ${per} (${f} rows hold whole blocks of ${per} values)`, cols);
}
