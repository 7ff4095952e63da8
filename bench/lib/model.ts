/**
 * The bench model: random weights in SmolLM2-135M's shape, written once under bench/.cache/ as an HF
 * folder (config.json, tokenizer*.json, model.safetensors F32) and the GGUF F32 export of the same
 * weights. Tensors are drawn one at a time from the fixtures' PRNG, in the order and with the scales
 * of tools/fixtures/models.ts `generateWeights`, and streamed into both files, so memory stays at
 * one tensor (the 113 MB embedding) however large the model.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ggufArch, ggufTensorName, headDimOf } from '../../tools/fixtures/convert';
import { permuteForInterleavedRope, type GgufValue } from '../../tools/fixtures/gguf';
import { bosId, endId, eosId, weightScales, type HfConfig } from '../../tools/fixtures/models';
import { Prng } from '../../tools/fixtures/prng';
import { tokenizerConfigJson, tokenizerJson, tokensById, trainTokenizer, type BpeTokenizer } from '../../tools/fixtures/tokenizer';
import { generatorHash, repoRoot } from '../../tools/fixtures/writeFixtures';
import { ggufHeader, ggufPaddedBytes, type GgufTensorInfo } from '../../tools/fixtures/gguf';

/** SmolLM2-135M's config.json shape; token ids are the fixture tokenizer's (ids past it are unused). */
export const smolLm2Config: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  max_position_embeddings: 2048,
  tie_word_embeddings: true,
  vocab_size: 49152,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: bosId,
  eos_token_id: [eosId, endId],
  torch_dtype: 'float32',
};

export interface TensorSpec {
  name: string; // HF name
  shape: number[]; // HF order (out, in)
  std: number;
  mean: number;
}

/** Every tensor in generateWeights' order and distribution (same seed, same values). */
export function tensorSpecs(c: HfConfig): TensorSpec[] {
  const s = weightScales;
  const h = c.hidden_size,
    headDim = headDimOf(c);
  const qRows = c.num_attention_heads * headDim,
    kvRows = c.num_key_value_heads * headDim;
  const norm = (name: string): TensorSpec => ({ name, shape: [h], std: s.normJitter, mean: 1 });
  const linear = (name: string, rows: number, cols: number, gain: number): TensorSpec => ({
    name,
    shape: [rows, cols],
    std: gain / Math.sqrt(cols),
    mean: 0,
  });
  if (c.model_type !== 'llama') throw new Error(`bench model writer: only llama (no biases), got ${c.model_type}`);
  const out: TensorSpec[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [c.vocab_size, h],
      mean: 0,
      std: c.tie_word_embeddings ? s.tiedEmbed : s.embed,
    },
  ];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      norm(`${p}.input_layernorm.weight`),
      linear(`${p}.self_attn.q_proj.weight`, qRows, h, s.qk),
      linear(`${p}.self_attn.k_proj.weight`, kvRows, h, s.qk),
      linear(`${p}.self_attn.v_proj.weight`, kvRows, h, s.proj),
      linear(`${p}.self_attn.o_proj.weight`, h, qRows, s.proj),
      norm(`${p}.post_attention_layernorm.weight`),
      linear(`${p}.mlp.gate_proj.weight`, c.intermediate_size, h, s.proj),
      linear(`${p}.mlp.up_proj.weight`, c.intermediate_size, h, s.proj),
      linear(`${p}.mlp.down_proj.weight`, h, c.intermediate_size, s.proj),
    );
  }
  out.push(norm('model.norm.weight'));
  if (!c.tie_word_embeddings) out.push({ name: 'lm_head.weight', shape: [c.vocab_size, h], std: s.lmHead, mean: 0 });
  return out;
}

const elementsOf = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1);

/** safetensors header (8-byte length + JSON padded to 8), as tools/fixtures/safetensors.ts writes it. */
export function safetensorsHeader(specs: TensorSpec[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of specs) {
    const bytes = elementsOf(t) * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  return out;
}

/**
 * GGUF metadata as tools/fixtures/convert.ts writes it; the token list is padded with unused control
 * tokens up to vocab_size, since llama.cpp requires one token per embedding row.
 */
export function ggufMetadata(name: string, c: HfConfig, tok: BpeTokenizer): [string, GgufValue][] {
  const arch = ggufArch(c);
  const headDim = headDimOf(c);
  const tokens = tokensById(tok);
  const specialIds = new Set(tok.specials.values());
  const types = tokens.map((_, id) => (specialIds.has(id) ? 3 : 1)); // control : normal
  for (let id = tokens.length; id < c.vocab_size; id++) {
    tokens.push(`<|unused_${id}|>`);
    types.push(3);
  }
  return [
    ['general.architecture', { str: arch }],
    ['general.name', { str: name }],
    ['general.file_type', { u32: 0 }],
    [`${arch}.context_length`, { u32: c.max_position_embeddings }],
    [`${arch}.embedding_length`, { u32: c.hidden_size }],
    [`${arch}.block_count`, { u32: c.num_hidden_layers }],
    [`${arch}.feed_forward_length`, { u32: c.intermediate_size }],
    [`${arch}.attention.head_count`, { u32: c.num_attention_heads }],
    [`${arch}.attention.head_count_kv`, { u32: c.num_key_value_heads }],
    [`${arch}.attention.key_length`, { u32: headDim }],
    [`${arch}.attention.value_length`, { u32: headDim }],
    [`${arch}.attention.layer_norm_rms_epsilon`, { f32: c.rms_norm_eps }],
    [`${arch}.rope.freq_base`, { f32: c.rope_theta }],
    [`${arch}.rope.dimension_count`, { u32: headDim }],
    [`${arch}.vocab_size`, { u32: c.vocab_size }],
    ['tokenizer.ggml.model', { str: 'gpt2' }],
    ['tokenizer.ggml.pre', { str: 'gpt-2' }],
    ['tokenizer.ggml.tokens', { strings: tokens }],
    ['tokenizer.ggml.token_type', { i32s: types }],
    ['tokenizer.ggml.merges', { strings: tok.merges.map(([a, b]) => `${a} ${b}`) }],
    ['tokenizer.ggml.bos_token_id', { u32: tok.specials.get('<s>')! }],
    ['tokenizer.ggml.eos_token_id', { u32: tok.specials.get('</s>')! }],
    ['tokenizer.ggml.eot_token_id', { u32: tok.specials.get('<|end|>')! }],
    ['tokenizer.ggml.add_bos_token', { bool: false }],
  ];
}

/** The GGUF form of one tensor: llama.cpp name, reversed dims, Q/K rows permuted for interleaved RoPE. */
function ggufData(c: HfConfig, t: TensorSpec, data: Float32Array): Float32Array {
  const isQ = t.name.includes('self_attn.q_proj.'),
    isK = t.name.includes('self_attn.k_proj.');
  if (!isQ && !isK) return data;
  return permuteForInterleavedRope(data, t.shape[0], t.shape[1], isQ ? c.num_attention_heads : c.num_key_value_heads);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done);
}

export interface WriteModelOptions {
  name: string;
  config: HfConfig;
  seed: number;
  onTensor?: (index: number, total: number, name: string) => void;
}

/** Writes config, tokenizer, model.safetensors and model.gguf into `dir`, streaming tensor by tensor. */
export function writeModelFiles(dir: string, o: WriteModelOptions): void {
  const tok = trainTokenizer();
  const specs = tensorSpecs(o.config);
  const infos: GgufTensorInfo[] = specs.map((t) => ({
    name: ggufTensorName(t.name),
    dims: [...t.shape].reverse(),
    elements: elementsOf(t),
  }));
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(o.config, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson(tok), null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfigJson(tok), null, 2)}\n`);
  const st = openSync(join(dir, 'model.safetensors'), 'w');
  const gg = openSync(join(dir, 'model.gguf'), 'w');
  try {
    writeAll(st, safetensorsHeader(specs));
    writeAll(gg, ggufHeader(ggufMetadata(o.name, o.config, tok), infos));
    const rng = new Prng(o.seed);
    specs.forEach((t, i) => {
      o.onTensor?.(i, specs.length, t.name);
      const data = rng.normalArray(elementsOf(t), t.std, t.mean);
      writeAll(st, new Uint8Array(data.buffer));
      const g = ggufData(o.config, t, data);
      const padded = new Uint8Array(ggufPaddedBytes(g.length));
      padded.set(new Uint8Array(g.buffer, g.byteOffset, g.byteLength));
      writeAll(gg, padded);
    });
  } finally {
    closeSync(st);
    closeSync(gg);
  }
}

export const benchModelName = 'smollm2-135m-random';
export const benchModelSeed = 135;
export const cacheDir = join(repoRoot, 'bench/.cache');

/** Hash of the fixture generator and this writer: a change in either rewrites the bench model. */
export function benchModelHash(): string {
  const own = readFileSync(fileURLToPath(new URL('model.ts', import.meta.url)));
  return createHash('sha256').update(generatorHash()).update(own).digest('hex').slice(0, 16);
}

export interface BenchModel {
  dir: string; // absolute folder
  name: string; // folder name under bench/.cache/
  gguf: string; // absolute path of the GGUF export
  config: HfConfig;
  parameters: number;
  written: boolean; // false when the cached copy was current
}

/** The cached bench model, (re)written when missing or stale. Writes to a temp folder, then renames. */
export function ensureBenchModel(log: (line: string) => void = () => {}): BenchModel {
  const dir = join(cacheDir, benchModelName);
  const stamp = join(dir, '.stamp');
  const hash = benchModelHash();
  const parameters = tensorSpecs(smolLm2Config).reduce((a, t) => a + elementsOf(t), 0);
  const result = { dir, name: benchModelName, gguf: join(dir, 'model.gguf'), config: smolLm2Config, parameters };
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return { ...result, written: false };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`model: writing ${benchModelName} (${(parameters / 1e6).toFixed(1)}M params, F32 safetensors + GGUF) into bench/.cache/`);
  let lastPct = -1;
  writeModelFiles(tmp, {
    name: benchModelName,
    config: smolLm2Config,
    seed: benchModelSeed,
    onTensor: (i, n) => {
      const pct = Math.floor((i / n) * 4) * 25;
      if (pct !== lastPct) {
        lastPct = pct;
        log(`model: ${pct}% of tensors written`);
      }
    },
  });
  writeFileSync(join(tmp, '.stamp'), `${hash}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ...result, written: true };
}
