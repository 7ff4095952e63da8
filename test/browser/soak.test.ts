/**
 * A CI-sized soak (the long one: `npm run soak`, tools/soak): 80 chat turns with explicit memory,
 * banks swapped every 10 turns (slots of two shapes), memories swapped while decoding. After
 * warm-up the engine's live GPU buffers (every one it created, counted) stay exactly flat and its
 * worker's heap does not grow.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { createEngine, type Memory3Engine } from '../../src/index';
import { fixtureUrl } from '../helpers/engine';
import { flatness, runSoak } from '../helpers/soak';

const workerName = `memory3-soak-${Date.now().toString(36)}`;
const banks = [`soak-a-${Date.now().toString(36)}`, `soak-b-${Date.now().toString(36)}`];
const docs = [
  { source: 'cats.txt', text: 'Cats are small felines. A cat purrs and sleeps in the sun. Cats hunt mice at night and climb trees.' },
  { source: 'iron.txt', text: 'Iron is a metal with symbol Fe and atomic number 26. Iron rusts in water and air, forming red oxide.' },
  { source: 'sea.txt', text: 'The sea is salty water covering most of the planet. Waves and tides move the sea; whales live there.' },
];
let engine: Memory3Engine;
beforeAll(async () => {
  const worker = new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module', name: workerName });
  engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 256, worker });
  for (const [i, bank] of banks.entries()) {
    await engine.memory.createBank(bank, {
      policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2 + i, retrievalInterval: 24 },
    });
    await engine.memory.addDocuments(bank, docs);
  }
});
afterAll(async () => {
  for (const b of banks) await engine?.memory.delete(b).catch(() => {});
  await engine?.dispose();
});

test('80 turns with explicit memory: flat GPU buffers, no heap growth', async () => {
  const report = await runSoak(engine, {
    turns: 80,
    memories: banks.map((bank) => ({ name: bank, bank })),
    swapEvery: 10,
    maxTokens: 12,
    contextLength: 256,
    retrievalInterval: 6,
    heapEvery: 5,
    questions: ['Do cats purr?', 'What rusts?', 'Is the sea salty?', 'Tell me about iron.'],
    heap: () => commands.workerHeap(workerName),
  });
  const f = flatness(report.samples, 20);
  console.log(
    `soak: ${JSON.stringify({ conversations: report.conversations, decodeRetrievals: report.decodeRetrievals, ms: Math.round(report.ms), ...f })}`,
  );
  expect(report.conversations).toBeGreaterThan(2);
  expect(report.decodeRetrievals).toBeGreaterThanOrEqual(80);
  expect(Object.keys(f.gpu).sort()).toEqual([...banks].sort());
  for (const { buffers, bytes } of Object.values(f.gpu)) {
    expect(buffers[1]).toBe(buffers[0]);
    expect(bytes[1]).toBe(bytes[0]);
  }
  expect(f.heap.samples).toBeGreaterThanOrEqual(10);
  expect(f.heap.bytesPerTurn).toBeLessThan(4096);
});
