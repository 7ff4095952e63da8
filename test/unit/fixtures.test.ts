/** Fixture models: tokenizer, safetensors layout, f16/bf16 rounding, GGUF read-back with @huggingface/gguf. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, type GGUFParseOutput } from '@huggingface/gguf';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { archOf, ggufArch, headDimOf, llama3RopeFactors } from '../../tools/fixtures/convert';
import { fixturesDir, makeFixtures } from '../../tools/fixtures/writeFixtures';
import { fixtureSpecs, type HfConfig } from '../../tools/fixtures/models';
import { f32ToBf16Bits, f32ToF16Bits } from '../../tools/fixtures/safetensors';
import { readSafetensors } from '../reference/modelFiles';

const ggufSpecs = fixtureSpecs.filter((s) => s.gguf);
const readJson = (name: string, file: string) => JSON.parse(readFileSync(join(fixturesDir, name, file), 'utf8'));

beforeAll(() => {
  makeFixtures({ ifMissing: true });
});

describe('tokenizer.json', () => {
  it('loads in @huggingface/tokenizers and round-trips text, specials and bytes', () => {
    const tok = new Tokenizer(readJson('llama', 'tokenizer.json'), readJson('llama', 'tokenizer_config.json'));
    const texts = ['The model reads the memory.', 'Ünïcode, tabs\tand  double spaces\n\nend', '<|user|>Hi<|end|>'];
    for (const text of texts) expect(tok.decode(tok.encode(text).ids)).toBe(text);
    const ids = tok.encode('<s><|user|>x<|end|><|assistant|>').ids;
    const config = readJson('llama', 'config.json') as HfConfig;
    expect(ids[0]).toBe(config.bos_token_id);
    expect(ids).toContain((config.eos_token_id as number[])[1]); // <|end|>
    expect(tok.encode('the the the').ids.length).toBeLessThan('the the the'.length); // merges apply
    const vocab = readJson('llama', 'tokenizer.json');
    expect(Object.keys(vocab.model.vocab).length + vocab.added_tokens.length).toBe(config.vocab_size);
  });

  it('renders the chat template with @huggingface/jinja', () => {
    const cfg = readJson('llama', 'tokenizer_config.json');
    const text = new Template(cfg.chat_template).render({
      messages: [{ role: 'user', content: 'Hello' }],
      add_generation_prompt: true,
      bos_token: cfg.bos_token,
    });
    expect(text).toBe('<s><|user|>Hello<|end|><|assistant|>');
  });
});

describe('f16 / bf16 rounding', () => {
  it('rounds to nearest even, with subnormals and overflow', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(f32ToF16Bits(-(2 ** -24))).toBe(0x8001); // smallest subnormal
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds to infinity
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});

describe('safetensors files', () => {
  it('have an 8-byte length, a JSON header with __metadata__ and contiguous data offsets', () => {
    const bytes = readFileSync(join(fixturesDir, 'qwen2', 'model.safetensors'));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, any][];
    let end = 0;
    for (const [, info] of entries) {
      expect(info.data_offsets[0]).toBe(end);
      end = info.data_offsets[1];
      expect(end - info.data_offsets[0]).toBe(4 * info.shape.reduce((a: number, b: number) => a * b, 1));
    }
    expect(8 + headerLength + end).toBe(bytes.length);
    expect(header['model.layers.1.self_attn.q_proj.bias'].shape).toEqual([96]);
    expect(header['lm_head.weight']).toBeUndefined(); // tied
  });

  it('shards hold exactly the tensors of the single-file model', () => {
    const single = readSafetensors(join(fixturesDir, 'llama', 'model.safetensors'));
    const index = readJson('llama-sharded', 'model.safetensors.index.json');
    expect(new Set(Object.values(index.weight_map))).toEqual(
      new Set(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']),
    );
    expect(Object.keys(index.weight_map).sort()).toEqual([...single.keys()].sort());
  });
});

async function parseGguf(name: string): Promise<GGUFParseOutput> {
  return gguf(join(fixturesDir, name, 'model.gguf'), { allowLocalFile: true });
}

/** The GGUF tensor's F32 data, read straight from the file. */
function ggufTensorData(name: string, parsed: GGUFParseOutput, tensor: string): Float32Array {
  const info = parsed.tensorInfos.find((t) => t.name === tensor)!;
  const count = info.shape.reduce((a, b) => a * Number(b), 1);
  const bytes = readFileSync(join(fixturesDir, name, 'model.gguf'));
  const start = Number(parsed.tensorDataOffset + info.offset);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * count));
}

describe.each(ggufSpecs.map((s) => [s.name, s] as const))('GGUF %s', (name, spec) => {
  it('metadata matches config.json', async () => {
    const { metadata } = await parseGguf(name);
    const c = spec.config;
    const arch = ggufArch(c); // the fixture's model/arch entry names it: llama (also Mistral), qwen2, qwen3, smollm3
    expect(arch).toBe({ mistral: 'llama', gemma3_text: 'gemma3' }[c.model_type] ?? c.model_type);
    const m = metadata as Record<string, unknown>;
    expect(m.version).toBe(3);
    expect(m['general.architecture']).toBe(arch);
    expect(m[`${arch}.block_count`]).toBe(c.num_hidden_layers);
    expect(m[`${arch}.embedding_length`]).toBe(c.hidden_size);
    expect(m[`${arch}.feed_forward_length`]).toBe(c.intermediate_size);
    expect(m[`${arch}.attention.head_count`]).toBe(c.num_attention_heads);
    expect(m[`${arch}.attention.head_count_kv`]).toBe(c.num_key_value_heads);
    expect(m[`${arch}.attention.key_length`]).toBe(headDimOf(c));
    expect(m[`${arch}.rope.dimension_count`]).toBe(Math.round(((c.partial_rotary_factor as number | undefined) ?? 1) * headDimOf(c)));
    expect(m[`${arch}.rope.freq_base`]).toBe(c.rope_theta);
    expect(m[`${arch}.attention.layer_norm_rms_epsilon`]).toBeCloseTo(c.rms_norm_eps, 12);
    expect((m['tokenizer.ggml.tokens'] as string[]).length).toBe(c.vocab_size);
    expect(m['tokenizer.ggml.model']).toBe('gpt2');
  });

  it('tensor infos: reversed HF shapes, 32-byte aligned contiguous offsets', async () => {
    const parsed = await parseGguf(name);
    const hf = readSafetensors(join(fixturesDir, name, 'model.safetensors'));
    const ropeFactors = archOf(spec.config).ggufTensors?.(spec.config).length ?? (spec.config.rope_scaling ? 1 : 0); // rope_freqs or LongRoPE's two
    expect(parsed.tensorInfos.length).toBe(hf.size + ropeFactors);
    expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
    let expectedOffset = 0n;
    for (const info of parsed.tensorInfos) {
      expect(info.dtype).toBe(0); // F32
      expect(info.offset).toBe(expectedOffset);
      const bytes = 4n * info.shape.reduce((a, b) => a * b, 1n);
      expectedOffset += ((bytes + 31n) / 32n) * 32n;
    }
    const embd = parsed.tensorInfos.find((t) => t.name === 'token_embd.weight')!;
    expect(embd.shape.map(Number)).toEqual([...hf.get('model.embed_tokens.weight')!.shape].reverse());
    const fused = archOf(spec.config).family === 'phi3'; // q, k and v in one attn_qkv
    const q = parsed.tensorInfos.find((t) => t.name === (fused ? 'blk.1.attn_qkv.weight' : 'blk.1.attn_q.weight'))!;
    const qRows = (spec.config.num_attention_heads + (fused ? 2 * spec.config.num_key_value_heads : 0)) * headDimOf(spec.config);
    expect(q.shape.map(Number)).toEqual([spec.config.hidden_size, qRows]);
    expect(parsed.tensorInfos.some((t) => t.name === 'output.weight')).toBe(!spec.config.tie_word_embeddings);
    expect(parsed.tensorInfos.some((t) => t.name === 'blk.0.attn_q.bias')).toBe(spec.config.model_type === 'qwen2');
  });

  it.skipIf(archOf(spec.config).family === 'phi3')(
    'tensor data: Q/K rows permuted where llama.cpp rotates adjacent pairs (llama, smollm3), kept for NEOX (qwen2, qwen3, gemma)',
    async () => {
      const parsed = await parseGguf(name);
      const hf = readSafetensors(join(fixturesDir, name, 'model.safetensors'));
      const c = spec.config;
      const hd = headDimOf(c);
      const half = hd / 2;
      const hfK = hf.get('model.layers.0.self_attn.k_proj.weight')!;
      const gK = ggufTensorData(name, parsed, 'blk.0.attn_k.weight');
      const cols = c.hidden_size;
      for (let h = 0; h < c.num_key_value_heads; h++) {
        for (let i = 0; i < half; i++) {
          for (const j of [0, 1]) {
            const src = h * hd + j * half + i;
            const dst = archOf(c).ggufRope === 'neox' ? src : h * hd + 2 * i + j;
            for (const col of [0, cols - 1]) expect(gK[dst * cols + col]).toBe(hfK.data[src * cols + col]);
          }
        }
      }
      const down = ggufTensorData(name, parsed, 'blk.1.ffn_down.weight');
      expect(Array.from(down)).toEqual(Array.from(hf.get('model.layers.1.mlp.down_proj.weight')!.data));
      if (c.rope_scaling) expect(Array.from(ggufTensorData(name, parsed, 'rope_freqs.weight'))).toEqual(Array.from(llama3RopeFactors(c)));
    },
  );
});
