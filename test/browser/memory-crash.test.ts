/**
 * The engine's worker killed while it encodes documents into a bank (worker.terminate(): no catch
 * or finally runs, as when a tab crashes). A new engine finds the bank consistent, every stored
 * reference searchable (the lexical index is saved apart from the write batches and is reconciled
 * on open), and adding the same documents again resumes: nothing lost, nothing twice.
 */
import { afterAll, expect, test } from 'vitest';
import { createEngine, type Memory3Engine } from '../../src/index';
import { BankRetriever } from '../../src/memory/bank-retriever';
import { deleteBank, openBank } from '../../src/memory/store/index';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { fixtureUrl } from '../helpers/engine';
import { checkBank } from '../helpers/memory-store';

const bank = `crash-encode-${Date.now().toString(36)}`,
  control = `${bank}-control`;
const policy = { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 };
const words = ['kelp', 'quartz', 'lynx', 'fjord', 'mango', 'tundra', 'basalt', 'walrus', 'cobalt', 'orchid', 'glacier', 'puffin'];
const docs = [0, 1].map((d) => ({
  source: `doc-${d}.txt`,
  text: words.map((w, i) => `The ${w}${d}${i} is item ${i} of list ${d}.`).join(' '),
}));
const engines: Memory3Engine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose().catch(() => {});
  for (const b of [bank, control]) await deleteBank(b).catch(() => {});
});

const texts = (raw: Awaited<ReturnType<typeof checkBank>>) => raw.references.map((r) => `${r.source}@${r.start}:${r.text}`).sort();

test('a worker killed mid-encoding leaves a consistent, searchable bank that resumes without duplicates', async () => {
  const worker = new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module', name: 'memory3-engine' });
  const doomed = await createEngine({ model: fixtureUrl('llama'), contextLength: 256, worker });
  await doomed.memory.createBank(bank, { policy });
  const killed = new Promise<number>((resolve) => {
    void doomed.memory.addDocuments(bank, docs, {
      onProgress: (p) => {
        if (p.referencesDone >= 8) {
          worker.terminate();
          resolve(p.referencesDone);
        }
      },
    });
  });
  await killed;

  const engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 256 });
  engines.push(engine);
  const crashed = await checkBank(bank);
  expect(crashed.references.length).toBeGreaterThanOrEqual(8);
  const store = await openBank(bank);
  const retriever = await BankRetriever.open(store, (j) => Tokenizer.fromJSON(j, null));
  try {
    const unindexed = crashed.references.filter((r) => !retriever.has(r.id)).map((r) => r.id);
    expect(unindexed, 'stored references missing from the retriever after the crash').toEqual([]);
    const last = crashed.references[crashed.references.length - 1];
    expect((await retriever.search(last.text, 1))[0]?.id).toBe(last.id);
  } finally {
    retriever.close();
    store.close();
  }

  const resumed = await engine.memory.addDocuments(bank, docs);
  expect(resumed.resumed).toBe(crashed.references.length);
  await engine.memory.createBank(control, { policy });
  const clean = await engine.memory.addDocuments(control, docs);
  const [after, reference] = [await checkBank(bank), await checkBank(control)];
  expect(resumed.resumed + resumed.references).toBe(clean.references);
  expect(texts(after)).toEqual(texts(reference));
  expect(after.documents.map((d) => d.status)).toEqual(['done', 'done']);
});
