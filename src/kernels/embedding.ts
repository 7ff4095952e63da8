/** Embedding gather: out[t, :] = table[tokens[t], :] from a GpuMatrix in any weight format (quantized rows dequantized). */
import source from '../../shaders/kernels/embedding.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ShapeMismatchError } from '../util/errors';
import type { GpuMatrix } from './matrix';
import { isQuantized, weightFormats } from './weight-formats';

export const embeddingKernel = {
  source,
  params: defineParams([
    ['count', 'u32'], ['cols', 'u32'], ['token_offset', 'u32'], ['out_offset', 'u32'],
    ['row_start', 'u32'], ['part_rows', 'u32'], ['last_part', 'u32'],
  ] as const),
};

const wgSize = 256;

export interface EmbeddingArgs {
  table: GpuMatrix;      // (vocab, cols) in any weight format
  tokens: GPUBuffer;     // (tokenOffset + count) u32 token ids
  tokenOffset?: number;  // element offset of the first id
  count: number;
  out: GPUBuffer;        // (count, cols) f32
  outOffset?: number;    // element offset of out[0, 0]
}

function fail(what: string, expected: unknown, actual: unknown, tensor: string): never {
  throw new ShapeMismatchError(`embedding: ${what} (expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)})`,
    { op: 'embedding', tensor, expected, actual });
}

/**
 * One dispatch per table part; each writes the rows whose ids fall in its part. Ids past the end of
 * the table produce NaN rows (the GPU cannot throw; NaN logits make the bad id visible).
 */
export function encodeEmbedding(run: KernelRunner, args: EmbeddingArgs): void {
  const { table, count } = args;
  const tokenOffset = args.tokenOffset ?? 0, outOffset = args.outOffset ?? 0;
  const label = table.parts[0]?.buffer.label ?? 'table';
  if (!Number.isInteger(count) || count < 1) fail('count must be a positive integer', '>= 1', count, label);
  if (!Number.isInteger(tokenOffset) || tokenOffset < 0 || !Number.isInteger(outOffset) || outOffset < 0) {
    fail('offsets must be non-negative integers', '>= 0', { tokenOffset, outOffset }, label);
  }
  if (args.tokens.size < (tokenOffset + count) * 4) fail('tokens buffer too small', (tokenOffset + count) * 4, args.tokens.size, args.tokens.label);
  const outNeed = (outOffset + count * table.cols) * 4;
  if (args.out.size < outNeed) fail('out buffer too small', outNeed, args.out.size, args.out.label);
  const quantized = isQuantized(table.dtype);
  const words = table.cols / (quantized ? 4 : table.dtype === 'f16' ? 2 : 1);
  const format = weightFormats[table.dtype].define;
  const defines = [...(format ? [format] : []), ...(quantized ? ['QUANT'] : [])];
  const workgroups = gridFor(Math.ceil((count * words) / wgSize), run.maxWorkgroupsPerDimension);
  table.parts.forEach((part, i) => {
    run.dispatch({
      key: `embedding.${table.dtype}.wg${wgSize}`, source, constants: { WG_SIZE: wgSize },
      defines,
      params: embeddingKernel.params.pack({
        count, cols: table.cols, token_offset: tokenOffset, out_offset: outOffset,
        row_start: part.rowStart, part_rows: part.rows, last_part: i === table.parts.length - 1 ? 1 : 0,
      }),
      buffers: [part.buffer, args.tokens, args.out],
      workgroups,
    });
  });
}
