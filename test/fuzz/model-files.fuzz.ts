/**
 * Hostile model folders (Node): mutated safetensors headers, shard indexes, config.json,
 * tokenizer.json and tokenizer_config.json, alone and loaded together through loadDescriptors.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { loadDescriptors } from '../../src/engine/descriptors';
import { parseModelConfig } from '../../src/model/config';
import { listWeightFiles, parseSafetensorsHeader, parseShardIndex, readSafetensorsHeader } from '../../src/model/safetensors';
import { memorySource, type ModelSource } from '../../src/model/source';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { TruncatedFileError } from '../../src/util/errors';
import { caseLimitMs, fuzzScale, fuzzSeed, hostile, hostileValue, mutatedBytes, mutatedObject, tally, type FuzzTally } from './harness';

const dir = resolve(__dirname, '../fixtures/models/llama');
const file = (name: string, from = dir) => new Uint8Array(readFileSync(join(from, name)));
const json = (name: string, from = dir) => JSON.parse(readFileSync(join(from, name), 'utf8')) as Record<string, unknown>;
const weights = file('model.safetensors');
const headerLength = Number(new DataView(weights.buffer, weights.byteOffset, 8).getBigUint64(0, true));
const header = weights.slice(0, 8 + headerLength);
const headerJson = JSON.parse(new TextDecoder().decode(header.subarray(8))) as Record<string, unknown>;
const config = json('config.json'),
  tokenizerJson = json('tokenizer.json'),
  tokenizerConfig = json('tokenizer_config.json');
const index = json('model.safetensors.index.json', resolve(__dirname, '../fixtures/models/llama-sharded'));
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

const tallies: FuzzTally[] = [];
const runs = (n: number) => ({ numRuns: Math.round(n * fuzzScale), seed: fuzzSeed, endOnFailure: true });
afterAll(() => {
  const out = resolve(__dirname, '.results');
  mkdirSync(out, { recursive: true });
  for (const t of tallies) writeFileSync(join(out, `${t.name}.json`), JSON.stringify(t));
});
const track = (name: string) => {
  const t = tally(name);
  tallies.push(t);
  return t;
};

/** A safetensors file: 8-byte length, the JSON, the original data after it. */
function safetensors(json: unknown): Uint8Array {
  const body = enc(json);
  const out = new Uint8Array(8 + body.length + (weights.length - header.length));
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  out.set(weights.subarray(header.length), 8 + body.length);
  return out;
}

test('the harness fails on an unnamed error and on a slow input', async () => {
  const t = tally('self-check');
  await expect(
    hostile(t, () => {
      throw new TypeError('x');
    }),
  ).rejects.toThrow(/unnamed failure TypeError/);
  await expect(hostile(t, () => new Promise((r) => setTimeout(r, caseLimitMs + 50)))).rejects.toThrow(/took/);
  expect(
    await hostile(t, () => {
      throw new TruncatedFileError('named');
    }),
  ).toBeNull();
});

describe('hostile safetensors headers', () => {
  test('mutated bytes: a parsed header or a named error, all tensors inside the file', async () => {
    const t = track('safetensors-bytes');
    await fc.assert(
      fc.asyncProperty(mutatedBytes(header), fc.boolean(), async (bytes, sized) => {
        const parsed = await hostile(t, () => parseSafetensorsHeader(bytes, sized ? weights.length : undefined));
        if (parsed && sized) for (const x of parsed.tensors) expect(x.end).toBeLessThanOrEqual(weights.length);
      }),
      runs(1500),
    );
  });

  test('mutated entries (shapes, dtypes, offsets, huge claims) read through a source', async () => {
    const t = track('safetensors-entries');
    await fc.assert(
      fc.asyncProperty(mutatedObject(headerJson, ['__metadata__', 'extra.weight']), async (h) => {
        const src = memorySource({ 'model.safetensors': safetensors(h) });
        const parsed = await hostile(t, () => readSafetensorsHeader(src, 'model.safetensors'));
        if (parsed)
          for (const x of parsed.tensors) expect(x.end - x.begin).toBe(x.shape.reduce((a, d) => a * d, 1) * (x.dtype === 'F32' ? 4 : 2));
      }),
      runs(1000),
    );
  });

  test('a header that claims 100 MB over a short body is refused without allocating it', async () => {
    const claim = new Uint8Array(64);
    new DataView(claim.buffer).setBigUint64(0, 99_999_999n, true);
    claim.set(enc('{"a":'), 8);
    // No size known (a server without content-length): the body ends long before the claim.
    const src: ModelSource = { ...memorySource({ 'm.safetensors': claim }), size: async () => null };
    const before = process.memoryUsage().arrayBuffers;
    await expect(readSafetensorsHeader(src, 'm.safetensors')).rejects.toBeInstanceOf(TruncatedFileError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10 * 2 ** 20);
  });
});

describe('hostile GGUF files', () => {
  const gguf = file('model.gguf');
  const head = 16 << 10; // magic, counts, metadata (the vocabulary) and tensor infos lie in the first 16 KiB
  const huge = fc.constantFrom(2n ** 32n, 2n ** 40n, 2n ** 62n, 2n ** 64n - 1n, 0n);
  const edits = fc.oneof(
    mutatedBytes(gguf.subarray(0, head)).map((h) => {
      const b = gguf.slice();
      b.set(h.subarray(0, head), 0);
      return h.length === head ? b : Uint8Array.from([...h, ...gguf.subarray(head)]);
    }),
    fc.tuple(fc.nat({ max: head / 8 - 1 }), huge).map(([at, v]) => {
      const b = gguf.slice();
      new DataView(b.buffer).setBigUint64(at * 8, v, true);
      return b;
    }),
    fc.tuple(fc.constantFrom(8, 16), huge).map(([at, v]) => {
      const b = gguf.slice();
      new DataView(b.buffer).setBigUint64(at, v, true);
      return b;
    }),
  );

  test('mutated headers, metadata and counts: descriptors or a named error, nothing huge allocated', async () => {
    const t = track('gguf');
    await fc.assert(
      fc.asyncProperty(edits, async (bytes) => {
        const before = process.memoryUsage().arrayBuffers;
        await hostile(t, () => loadDescriptors(memorySource({ 'model.gguf': bytes })));
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 2 ** 20);
      }),
      runs(600),
    );
  });
});

describe('hostile descriptors', () => {
  test('config.json: a config with sane fields or a named error', async () => {
    const t = track('config');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutatedObject(config, ['head_dim', 'rope_parameters', 'memory3', 'sliding_window']), hostileValue),
        async (c) => {
          const cfg = await hostile(t, () => parseModelConfig(c));
          if (cfg)
            for (const k of ['hiddenSize', 'numHeads', 'numKvHeads', 'headDim', 'numLayers', 'vocabSize'] as const)
              expect(Number.isSafeInteger(cfg[k]) && cfg[k] > 0, k).toBe(true);
        },
      ),
      runs(1500),
    );
  });

  test('model.safetensors.index.json: shard files or a named error', async () => {
    const t = track('shard-index');
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedObject(index), hostileValue), mutatedBytes(enc(index)), async (obj, bytes) => {
        const parsed = await hostile(t, () => parseShardIndex(obj));
        if (parsed) expect(parsed.files.every((f) => typeof f === 'string' && f.length > 0)).toBe(true);
        await hostile(t, () => listWeightFiles(memorySource({ 'model.safetensors.index.json': bytes })));
      }),
      runs(750),
    );
  });

  test('tokenizer.json / tokenizer_config.json: a tokenizer that encodes and decodes, or a named error', async () => {
    const t = track('tokenizer');
    const model = tokenizerJson.model as Record<string, unknown>;
    const arb = fc.oneof(
      mutatedObject(tokenizerJson).map((j) => [j, tokenizerConfig] as const),
      mutatedObject(model, ['dropout', 'unk_token']).map((m) => [{ ...tokenizerJson, model: m }, tokenizerConfig] as const),
      mutatedObject(tokenizerConfig, ['chat_template']).map((c) => [tokenizerJson, c] as const),
    );
    await fc.assert(
      fc.asyncProperty(arb, fc.string({ maxLength: 40 }), async ([tj, tc], text) => {
        const tok = await hostile(t, () => Tokenizer.fromJSON(tj, tc));
        if (!tok) return;
        const ids = await hostile(t, () => tok.encode(text));
        if (ids) {
          expect(ids.every((i) => Number.isInteger(i))).toBe(true);
          await hostile(t, () => tok.decode(ids));
        }
      }),
      runs(400),
    );
  });

  test('a whole folder of mutated files: descriptors or a named error', async () => {
    const t = track('folder');
    const files = {
      'config.json': enc(config),
      'tokenizer.json': enc(tokenizerJson),
      'tokenizer_config.json': enc(tokenizerConfig),
      'generation_config.json': enc({ eos_token_id: 2 }),
    };
    const names = Object.keys(files) as (keyof typeof files)[];
    const edit = fc.constantFrom(...names).chain((a) => mutatedBytes(files[a]).map((bytes) => ({ a, bytes })));
    await fc.assert(
      fc.asyncProperty(edit, fc.option(fc.constantFrom(...names)), async ({ a, bytes }, dropped) => {
        const mutated: Record<string, Uint8Array> = { ...files, [a]: bytes };
        if (dropped) delete mutated[dropped];
        await hostile(t, () => loadDescriptors(memorySource(mutated)));
      }),
      runs(300),
    );
  });
});
