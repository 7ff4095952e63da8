/**
 * The quantized bench model: random weights in Llama-3.2-1B's shape as one Q4_0 GGUF (every matrix
 * Q4_0, as llama.cpp's `--pure` Q4_0 writes it; norms F32; tied embeddings; Llama-3 rope_freqs),
 * written once under bench/.cache/ by streaming tensor by tensor in 8M-value chunks, so memory stays
 * at one chunk however large the model. Both engines read this same file.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantizeBlocks } from '../../src/model/quantize';
import { ggufTensorName, llama3RopeFactors } from '../../tools/fixtures/convert';
import { ggufHeader, ggufPaddedBytes, permuteForInterleavedRope, type GgufTensorInfo } from '../../tools/fixtures/gguf';
import { ggmlBytes } from '../../tools/fixtures/kquants';
import { bosId, endId, eosId, type HfConfig } from '../../tools/fixtures/models';
import { Prng } from '../../tools/fixtures/prng';
import { trainTokenizer } from '../../tools/fixtures/tokenizer';
import { benchModelHash, cacheDir, ggufMetadata, tensorSpecs, type TensorSpec } from './model';

/** meta-llama/Llama-3.2-1B's config.json shape; token ids are the fixture tokenizer's. */
export const llama32Config: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  vocab_size: 128256,
  rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  original_max_position_embeddings: 8192,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: bosId,
  eos_token_id: [eosId, endId],
  torch_dtype: 'bfloat16',
};

export const q4ModelName = 'llama3.2-1b-random-q4_0';
const seed = 1236;
const chunkValues = 8 << 20;

const elementsOf = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1);
const isMatrix = (t: TensorSpec) => t.shape.length === 2;

export interface Q4BenchModel {
  dir: string;
  gguf: string; // absolute path
  url: string; // path under the bench server's files route
  config: HfConfig;
  parameters: number;
  tensorDataBytes: number; // bytes of tensor data in the GGUF (padding excluded)
  matrixValues: number; // values in the 2-D tensors
  vectorValues: number; // values in the norms (and rope_freqs)
  written: boolean;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
}

/** Streams one tensor's values: Q4_0 blocks for matrices (q/k rows permuted as llama.cpp's converter does), F32 for vectors. */
function writeTensor(fd: number, c: HfConfig, t: TensorSpec, rng: Prng): void {
  const n = elementsOf(t),
    cols = isMatrix(t) ? t.shape[1] : n;
  const isQ = t.name.includes('q_proj'),
    isK = t.name.includes('k_proj');
  const rowsPerChunk =
    isQ || isK ? c.head_dim! * Math.max(1, Math.floor(chunkValues / (cols * c.head_dim!))) : Math.max(1, Math.floor(chunkValues / cols));
  let written = 0;
  for (let row = 0; row < n / cols; row += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n / cols - row);
    let data = rng.normalArray(rows * cols, t.std, t.mean);
    if (isQ || isK) data = permuteForInterleavedRope(data, rows, cols, rows / c.head_dim!);
    const bytes = isMatrix(t) ? quantizeBlocks('q4_0', data) : new Uint8Array(data.buffer);
    writeAll(fd, bytes);
    written += bytes.length;
  }
  const padded = ggufPaddedBytes(n, isMatrix(t) ? 'Q4_0' : 'F32');
  if (padded > written) writeAll(fd, new Uint8Array(padded - written));
}

/** The cached Q4_0 bench model, (re)written when missing or stale. */
export function ensureQ4BenchModel(log: (line: string) => void = () => {}): Q4BenchModel {
  const c = llama32Config;
  const dir = join(cacheDir, q4ModelName),
    gguf = join(dir, 'model-q4_0.gguf'),
    stamp = join(dir, '.stamp');
  const hash = createHash('sha256')
    .update(benchModelHash())
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex')
    .slice(0, 16);
  const specs = tensorSpecs(c);
  const factors = llama3RopeFactors(c);
  const infos: GgufTensorInfo[] = [
    { name: 'rope_freqs.weight', dims: [factors.length], elements: factors.length },
    ...specs.map((t) => ({
      name: ggufTensorName(t.name),
      dims: [...t.shape].reverse(),
      elements: elementsOf(t),
      type: isMatrix(t) ? ('Q4_0' as const) : ('F32' as const),
    })),
  ];
  const matrixValues = specs.filter(isMatrix).reduce((a, t) => a + elementsOf(t), 0);
  const vectorValues = specs.filter((t) => !isMatrix(t)).reduce((a, t) => a + elementsOf(t), 0) + factors.length;
  const result = {
    dir,
    gguf,
    url: `${q4ModelName}/model-q4_0.gguf`,
    config: c,
    parameters: matrixValues + vectorValues - factors.length,
    tensorDataBytes: infos.reduce((a, t) => a + ggmlBytes(t.type ?? 'F32', t.elements), 0),
    matrixValues,
    vectorValues,
  };
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return { ...result, written: false };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(
    `model: writing ${q4ModelName} (${(result.parameters / 1e9).toFixed(2)}B params, Q4_0 GGUF, ${(result.tensorDataBytes / 2 ** 20).toFixed(0)} MiB of tensors) into bench/.cache/`,
  );
  const fd = openSync(join(tmp, 'model-q4_0.gguf'), 'w');
  try {
    const meta = ggufMetadata(q4ModelName, c, trainTokenizer());
    meta[meta.findIndex(([k]) => k === 'general.file_type')] = ['general.file_type', { u32: 2 }]; // LLAMA_FTYPE_MOSTLY_Q4_0
    writeAll(fd, ggufHeader(meta, infos));
    const padded = new Uint8Array(ggufPaddedBytes(factors.length));
    padded.set(new Uint8Array(factors.buffer));
    writeAll(fd, padded);
    const rng = new Prng(seed);
    specs.forEach((t, i) => {
      if (i % 20 === 0) log(`model: tensor ${i}/${specs.length} (${t.name})`);
      writeTensor(fd, c, t, rng);
    });
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(tmp, '.stamp'), `${hash}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ...result, written: true };
}
