/** The public memory API through the worker: banks, encoding with progress, generation with retrieval events. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createEngine, GenerationAbortedError, type Memory3Engine, type RetrievalEvent } from '../../src/index';
import { fixtureUrl } from '../helpers/engine';

let engine: Memory3Engine;
const bank = `api-${Date.now()}`;
beforeAll(async () => { engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 256 }); });
afterAll(async () => { await engine?.memory.delete(bank).catch(() => {}); await engine?.dispose(); });

test('create, encode with progress, list, stats, generate with retrieval events, delete', async () => {
  const created = await engine.memory.createBank(bank, { policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 } });
  expect(created.counts.records).toBe(0);
  const progress: number[] = [];
  const added = await engine.memory.addDocuments(bank, [
    { source: 'iron.txt', text: 'Iron is a metal with symbol Fe. Iron rusts in water and air, forming red iron oxide.' },
    { source: 'cats.txt', text: 'Cats are small felines. A cat purrs and sleeps in the sun all day long.' },
  ], { onProgress: (p) => progress.push(p.referencesDone) });
  expect(added.references).toBeGreaterThan(1);
  expect(progress[progress.length - 1]).toBe(added.references);
  expect((await engine.memory.list()).map((b) => b.name)).toContain(bank);
  expect((await engine.memory.stats(bank)).counts.records).toBe(added.references);

  const events: RetrievalEvent[] = [];
  const stream = engine.generate({ prompt: 'Iron rusts: iron oxide.', maxTokens: 8, temperature: 0, ignoreEos: true, memory: { bank }, onRetrieval: (e) => events.push(e) });
  let text = '';
  for await (const d of stream) text += d.text;
  const r = await stream.result;
  expect(text).toBe(r.text);
  expect(events.length).toBe(r.retrievals!.length);
  expect(events[0].references[0].source).toBe('iron.txt');
  expect(events[0].references[0].text).toContain('Iron');

  // Export → import under another name → the same retrieval results and the same output.
  const file = await new Response(await engine.memory.export(bank)).blob();
  expect(file.size).toBeGreaterThan(100);
  const copy = `${bank}-copy`;
  const imported = await engine.memory.import(file, { name: copy });
  expect(imported.counts).toEqual((await engine.memory.stats(bank)).counts);
  const again = await engine.generate({ prompt: 'Iron rusts: iron oxide.', maxTokens: 8, temperature: 0, ignoreEos: true, memory: { bank: copy } }).result;
  const strip = (rs: RetrievalEvent[]) => rs.map((e) => ({ ...e, ms: 0 }));
  expect(strip(again.retrievals!)).toEqual(strip(r.retrievals!));
  expect(again.tokens).toEqual(r.tokens);
  await expect(engine.memory.import(file.slice(0, file.size - 7), { name: `${bank}-cut` })).rejects.toMatchObject({ name: 'TruncatedFileError' });
  expect((await engine.memory.list()).map((b) => b.name)).not.toContain(`${bank}-cut`);
  await engine.memory.delete(copy);

  const ctl = new AbortController();
  const aborting = engine.memory.addDocuments(bank, [{ source: 'long.txt', text: 'Sea water. '.repeat(200) }], { signal: ctl.signal, onProgress: (p) => { if (p.referencesDone > 0) ctl.abort(); } });
  await expect(aborting).rejects.toBeInstanceOf(GenerationAbortedError);
  await engine.memory.delete(bank);
  expect((await engine.memory.list()).map((b) => b.name)).not.toContain(bank);
});
