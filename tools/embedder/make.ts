/**
 * Writes the test sentence-embedding fixture to test/fixtures/embedder/ (deterministic: the unit
 * tests regenerate it and compare bytes):
 *   model.onnx         variant 'bge': input_ids, attention_mask, token_type_ids → last_hidden_state
 *   model-pooled.onnx  variant 'pooled': input_ids, attention_mask → last_hidden_state, sentence_embedding
 *   tokenizer.json     the fixture byte-level BPE (tools/fixtures/tokenizer.ts) with `<pad>` added and
 *                      an XLM-R/BGE-M3-style post-processor: `<s> $A </s>`.
 * Run: npx tsx tools/embedder/make.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenizerJson, trainTokenizer } from '../fixtures/tokenizer';
import { embedderHidden, embedderOnnx, makeEmbedderWeights, type EmbedderWeights } from './model';

export const embedderFixtureDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/embedder');

/** The fixture tokenizer.json for the embedder (object form). */
export function embedderTokenizerJson(): Record<string, unknown> {
  const tok = trainTokenizer();
  const json = tokenizerJson(tok) as Record<string, unknown>;
  const padId = tok.size; // one past the fixture's vocabulary
  const added = json.added_tokens as Record<string, unknown>[];
  added.push({ id: padId, content: '<pad>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const special = (name: string) => ({ id: name, ids: [tok.specials.get(name)!], tokens: [name] });
  json.post_processor = {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '</s>', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '</s>', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '</s>', type_id: 1 } },
    ],
    special_tokens: { '<s>': special('<s>'), '</s>': special('</s>') },
  };
  return json;
}

export interface EmbedderFixture {
  weights: EmbedderWeights;
  files: Record<string, Uint8Array>;
}

export function makeEmbedderFixture(): EmbedderFixture {
  const tokJson = embedderTokenizerJson();
  const vocab = (tokJson.added_tokens as { id: number }[]).reduce((m, t) => Math.max(m, t.id), 0) + 1;
  const weights = makeEmbedderWeights(vocab, embedderHidden);
  const files: Record<string, Uint8Array> = {
    'model.onnx': embedderOnnx(weights, 'bge'),
    'model-pooled.onnx': embedderOnnx(weights, 'pooled'),
    'tokenizer.json': new TextEncoder().encode(`${JSON.stringify(tokJson, null, 1)}\n`),
  };
  return { weights, files };
}

export function writeEmbedderFixture(dir = embedderFixtureDir): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(makeEmbedderFixture().files)) writeFileSync(join(dir, name), bytes);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeEmbedderFixture();
  console.log(`wrote ${embedderFixtureDir}`);
}
