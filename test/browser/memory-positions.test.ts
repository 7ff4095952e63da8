/**
 * RoPE positions with explicit memory: the parallel layout puts context row i at position
 * i + referenceLength, so a generation stops (or a prompt is refused) where positions, not cache
 * rows, run out; past max_position_embeddings RoPE would extrapolate silently (issue 14 item 7).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ContextOverflowError, createEngine, type Memory3Engine } from '../../src/index';
import { fixtureUrl } from '../helpers/engine';

let engine: Memory3Engine;
const bank = `positions-${Date.now().toString(36)}`;
const referenceLength = 24;
beforeAll(async () => {
  engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 256 });
  await engine.memory.createBank(bank, { policy: { referenceLength, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 } });
  await engine.memory.addDocuments(bank, [
    { source: 'sea.txt', text: 'The sea is salty water covering most of the planet. Waves and tides move the sea.' },
  ]);
});
afterAll(async () => {
  await engine?.memory.delete(bank).catch(() => {});
  await engine?.dispose();
});

const prompt = (n: number) => Array.from({ length: n }, (_, i) => 10 + (i % 50));

test('generation with memory stops where the positions end, not where the cache rows end', async () => {
  expect(engine.info.contextLength).toBe(256); // = max_position_embeddings of the fixture
  const r = await engine.generate({ tokens: prompt(200), maxTokens: 200, temperature: 0, ignoreEos: true, memory: { bank } }).result;
  expect(r.finishReason).toBe('length');
  // Rows: the reference prefix and the prompt (promptTokens), then the generated tokens; the last
  // row's position is row + referenceLength, which must stay below 256.
  expect(r.usage.promptTokens + r.tokens.length).toBe(256 - referenceLength);
  const plain = await engine.generate({ tokens: prompt(200), maxTokens: 200, temperature: 0, ignoreEos: true }).result;
  expect(plain.usage.promptTokens + plain.tokens.length).toBe(256);
});

test('a prompt that fits the rows but not the positions is a ContextOverflowError', async () => {
  const err = await engine.generate({ tokens: prompt(225), maxTokens: 4, memory: { bank } }).result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ContextOverflowError);
  expect((err as Error).message).toMatch(/256 positions and explicit memory shifts the context by 24/);
  expect((await engine.generate({ tokens: prompt(225), maxTokens: 4, temperature: 0 }).result).tokens.length).toBeGreaterThan(0);
});
