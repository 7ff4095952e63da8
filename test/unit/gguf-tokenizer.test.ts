/**
 * Tokenizers built from GGUF metadata (src/tokenizer/gguf-vocab.ts) against llama.cpp's own
 * tokenizer on the same file (node-llama-cpp, vocab only): byte-level BPE under several
 * `tokenizer.ggml.pre` types, and a SentencePiece-style llama vocabulary with and without the ▁
 * prefix. Same ids for every text, same text back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufTokenizerFiles } from '../../src/tokenizer/gguf-vocab';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { TokenizerError } from '../../src/util/errors';
import { ggufParts } from '../../tools/fixtures/convert';
import { ggufBytes, type GgufValue } from '../../tools/fixtures/gguf';
import { fixtureSpecs, generateWeights } from '../../tools/fixtures/models';
import { spmVocabulary, trainTokenizer } from '../../tools/fixtures/tokenizer';

const texts = [
  'The quick brown fox jumps over the lazy dog.',
  'Paris is the capital of France? Jupiter is the largest planet!',
  "I'm sure you'll see they've done it, don't you?",
  'Numbers: 7 12 365 2024 1234567 and 3.14159',
  'Spaces:  two   three\t\ttabs\n\nnewlines\r\nand a trailing space ',
  ' leading space and ÜNÏCÖDE: naïve café, 日本語, 🙂!',
  'memory\nmemories\n  indented\n',
];

let llama: Llama;
let dir: string;
let metadata: [string, GgufValue][];

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  dir = mkdtempSync(join(tmpdir(), 'gguf-tok-'));
  const spec = fixtureSpecs.find((s) => s.name === 'llama')!;
  metadata = ggufParts('llama', spec.config, generateWeights(spec.config, spec.seed), trainTokenizer()).metadata;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Our tokenizer and llama.cpp's, on a vocab-only GGUF with `edit` applied to the fixture's metadata. */
async function both(name: string, edit: Record<string, GgufValue | null>) {
  const meta = metadata.filter(([k]) => !(k in edit));
  for (const [k, v] of Object.entries(edit)) if (v) meta.push([k, v]);
  const path = join(dir, `${name}.gguf`);
  writeFileSync(path, ggufBytes(meta, []));
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  const plain = new Map<string, unknown>(meta.map(([k, v]) => [k, Object.values(v)[0]]));
  const { tokenizerJson, tokenizerConfig } = ggufTokenizerFiles(plain);
  return { ours: Tokenizer.fromJSON(tokenizerJson, tokenizerConfig), theirs: model };
}

function expectSame(t: Awaited<ReturnType<typeof both>>): void {
  for (const text of texts) {
    const ids = t.ours.encode(text, { addSpecialTokens: false });
    expect(ids, JSON.stringify(text)).toEqual(Array.from(t.theirs.tokenize(text, false)));
    expect(t.ours.decode(ids), JSON.stringify(text)).toBe(t.theirs.detokenize(ids as Token[]));
  }
}

describe('GGUF BPE vocabularies tokenize as llama.cpp', () => {
  for (const pre of ['gpt-2', 'llama-bpe', 'qwen2', 'smollm', 'default']) {
    it(`tokenizer.ggml.pre = ${pre}`, async () => expectSame(await both(pre, { 'tokenizer.ggml.pre': { str: pre } })));
  }
  it('llama-bpe adds BOS by default; add_bos_token overrides it', async () => {
    const t = await both('bos', { 'tokenizer.ggml.pre': { str: 'llama-bpe' }, 'tokenizer.ggml.add_bos_token': null });
    const bos = t.theirs.tokens.bos!;
    expect(t.ours.encode('hi')[0]).toBe(bos);
    const off = await both('nobos', { 'tokenizer.ggml.pre': { str: 'llama-bpe' }, 'tokenizer.ggml.add_bos_token': { bool: false } });
    expect(off.ours.encode('hi')).not.toContain(bos);
  });
  it('an unknown pre-tokenizer or tokenizer model: TokenizerError', () => {
    const meta = new Map<string, unknown>(metadata.map(([k, v]) => [k, Object.values(v)[0]]));
    expect(() => ggufTokenizerFiles(new Map([...meta, ['tokenizer.ggml.pre', 'no-such-pre']]))).toThrow(TokenizerError);
    expect(() => ggufTokenizerFiles(new Map([...meta, ['tokenizer.ggml.model', 'bert']]))).toThrow(/bert.*not supported/);
  });
});

describe('GGUF SentencePiece (llama) vocabularies tokenize as llama.cpp', () => {
  const spm = () => {
    const v = spmVocabulary(trainTokenizer());
    return {
      'tokenizer.ggml.model': { str: 'llama' },
      'tokenizer.ggml.pre': null,
      'tokenizer.ggml.merges': null,
      'tokenizer.ggml.tokens': { strings: v.tokens },
      'tokenizer.ggml.scores': { f32s: v.scores },
      'tokenizer.ggml.token_type': { i32s: v.types },
      'tokenizer.ggml.bos_token_id': { u32: 1 },
      'tokenizer.ggml.eos_token_id': { u32: 2 },
      'tokenizer.ggml.unknown_token_id': { u32: 0 },
      'tokenizer.ggml.eot_token_id': null,
      'tokenizer.ggml.add_bos_token': null,
    } satisfies Record<string, GgufValue | null>;
  };
  it('with the ▁ prefix (default)', async () => {
    const t = await both('spm', spm());
    expectSame(t);
    expect(t.ours.encode('hi')[0]).toBe(1); // SentencePiece vocabularies add BOS by default
    expect(t.ours.encode('the memory', { addSpecialTokens: false }).length).toBeLessThan(6); // pieces merge
  });
  it('without it (tokenizer.ggml.add_space_prefix false)', async () =>
    expectSame(await both('spm-noprefix', { ...spm(), 'tokenizer.ggml.add_space_prefix': { bool: false } })));
});
