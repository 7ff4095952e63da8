/** Embedding gather: out[t, :] = table[tokens[t], :] · scale from a GpuMatrix in any weight format (quantized rows dequantized). */
import source from '../../shaders/kernels/embedding.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';
import type { GpuMatrix } from './matrix';
import { isQuantized, weightFormats } from './weight-formats';

export const embeddingKernel = {
  source,
  params: defineParams([
    ['count', 'u32'],
    ['cols', 'u32'],
    ['token_offset', 'u32'],
    ['out_offset', 'u32'],
    ['row_start', 'u32'],
    ['part_rows', 'u32'],
    ['last_part', 'u32'],
    ['scale', 'f32'],
  ] as const),
};

const wgSize = 256;

export interface EmbeddingArgs {
  table: GpuMatrix; // (vocab, cols) in any weight format
  tokens: GPUBuffer; // (tokenOffset + count) u32 token ids
  tokenOffset?: number; // element offset of the first id
  count: number;
  out: GPUBuffer; // (count, cols) f32
  outOffset?: number; // element offset of out[0, 0]
  scale?: number; // every value × this (Gemma: f32 √hidden); default 1
}

/**
 * One dispatch per table part; each writes the rows whose ids fall in its part. Ids past the end of
 * the table produce NaN rows (the GPU cannot throw; NaN logits make the bad id visible).
 */
export function encodeEmbedding(run: KernelRunner, args: EmbeddingArgs): void {
  const { table, count } = args;
  const tokenOffset = args.tokenOffset ?? 0,
    outOffset = args.outOffset ?? 0;
  new ArgCheck('embedding')
    .positive({ count })
    .that(Number.isFinite(args.scale ?? 1), 'scale', 'a finite number', args.scale)
    .offsets({ tokenOffset, outOffset })
    .fits('tokens', args.tokens, tokenOffset + count)
    .fits('out', args.out, outOffset + count * table.cols);
  const quantized = isQuantized(table.dtype);
  const words = table.cols / (quantized ? 4 : table.dtype === 'f16' ? 2 : 1);
  const format = weightFormats[table.dtype].define;
  const defines = [...(format ? [format] : []), ...(quantized ? ['QUANT'] : [])];
  const workgroups = gridFor(Math.ceil((count * words) / wgSize), run.maxWorkgroupsPerDimension);
  table.parts.forEach((part, i) => {
    run.dispatch({
      key: `embedding.${table.dtype}.wg${wgSize}`,
      source,
      constants: { WG_SIZE: wgSize },
      defines,
      params: embeddingKernel.params.pack({
        count,
        cols: table.cols,
        token_offset: tokenOffset,
        out_offset: outOffset,
        row_start: part.rowStart,
        part_rows: part.rows,
        last_part: i === table.parts.length - 1 ? 1 : 0,
        scale: args.scale ?? 1,
      }),
      buffers: [part.buffer, args.tokens, args.out],
      workgroups,
    });
  });
}
