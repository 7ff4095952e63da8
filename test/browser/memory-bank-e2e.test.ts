/**
 * Explicit memory end to end in one worker-less engine: create a bank, encode documents on the
 * GPU into IndexedDB (progress, abort, resume without duplicates), then generate with the bank:
 * each chunk retrieves references of the right documents and the output differs from no memory.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { bankStats, deleteBank } from '../../src/memory/store/banks';
import { urlSource } from '../../src/model/source';
import { openDB } from 'idb';
import { currentDb } from '../helpers/memory-store';
import { BankRetriever } from '../../src/memory/bank-retriever';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { BankMismatchError, GenerationAbortedError, InvalidOptionsError } from '../../src/util/errors';

let engine: Engine;
const bank = `e2e-${Date.now()}`;
const policy = { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 12 };
const docs = [
  {
    source: 'cats.txt',
    text: 'Cats are small felines. A cat purrs and sleeps in the sun. Cats hunt mice at night and climb trees with ease.',
  },
  { source: 'iron.txt', text: 'Iron is a metal with symbol Fe and atomic number 26. Iron rusts in water and air, forming red iron oxide.' },
  {
    source: 'sea.txt',
    text: 'The sea is salty water covering most of the planet. Waves and tides move the sea; whales and fish live there.',
  },
];

beforeAll(async () => {
  engine = await Engine.load(urlSource(`${location.origin}/test/fixtures/models/llama/`), { contextLength: 256 });
});
afterAll(async () => {
  engine?.dispose();
  await deleteBank(bank).catch(() => {});
});

describe('explicit memory end to end', () => {
  test('encode documents with progress; abort mid-way, then resume without duplicates', async () => {
    await engine.memory.createBank(bank, { policy });
    const ctl = new AbortController();
    const seen: number[] = [];
    await expect(
      engine.memory.addDocuments(
        bank,
        docs,
        (p) => {
          seen.push(p.referencesDone);
          if (p.referencesDone >= 1 && p.phase === 'encode') ctl.abort();
        },
        ctl.signal,
      ),
    ).rejects.toThrow();
    const partial = await bankStats(bank);
    expect(partial.counts.records).toBeGreaterThan(0);
    const r = await engine.memory.addDocuments(bank, docs);
    const full = await bankStats(bank);
    expect(r.resumed).toBe(partial.counts.records);
    expect(full.counts.records).toBe(partial.counts.records + r.references);
    expect(full.counts.references).toBe(full.counts.records);
    // A third run stores nothing new.
    const again = await engine.memory.addDocuments(bank, docs);
    expect(again.references).toBe(0);
    expect((await bankStats(bank)).counts.records).toBe(full.counts.records);
    expect(seen.length).toBeGreaterThan(0);
  });

  test('generation retrieves per chunk and the memories change the output', async () => {
    // The fixture tokenizer has few merges (about one token per character): chunks of 24 tokens.
    const prompt = engine.tokenizer.encode('Iron rusts: iron oxide.', { addSpecialTokens: true });
    const events: string[] = [];
    const withMemory = await engine.generate(
      { tokens: prompt, maxTokens: 30, temperature: 0, ignoreEos: true, memory: { bank, policy: { retrievalInterval: 24 } } },
      undefined,
      undefined,
      (e) => events.push(`${e.phase}:${e.chunk}:${e.references.map((x) => x.source).join(',')}`),
    );
    expect(withMemory.retrievals!.length).toBe(events.length);
    const first = withMemory.retrievals![0];
    expect(first.phase).toBe('prompt');
    expect(first.references.length).toBeGreaterThan(0);
    expect(first.references[0].source).toBe('iron.txt');
    expect(withMemory.retrievals!.some((e) => e.phase === 'decode' && e.reused)).toBe(true);
    // 30 tokens: decode chunk 0 reuses the prompt's memories, chunk 1 (from token 24) retrieves anew.
    expect(withMemory.retrievals!.filter((e) => e.phase === 'decode' && !e.reused).map((e) => e.span)).toEqual([[24, 30]]);
    const plain = await engine.generate({ tokens: prompt, maxTokens: 30, temperature: 0, ignoreEos: true });
    expect(plain.tokens).not.toEqual(withMemory.tokens);
  });

  test('a bank from another model is refused; fixed policy knobs cannot be overridden', async () => {
    const other = await Engine.load(urlSource(`${location.origin}/test/fixtures/models/qwen2/`));
    try {
      await expect(other.generate({ prompt: 'x', maxTokens: 2, memory: { bank } })).rejects.toBeInstanceOf(BankMismatchError);
    } finally {
      other.dispose();
    }
    await expect(
      engine.generate({ prompt: 'x', maxTokens: 2, memory: { bank, policy: { tokensPerHead: 2 } as never } }),
    ).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  for (const kind of ['embedding', 'hybrid'] as const) {
    test(`a ${kind} bank stores embeddings and retrieves with them`, async () => {
      const name = `${bank}-${kind}`;
      try {
        await engine.memory.createBank(name, { policy, retriever: { kind, model: `${location.origin}/test/fixtures/embedder/` } });
        await engine.memory.addDocuments(name, docs);
        const stats = await bankStats(name);
        expect(stats.counts.vectors).toBe(stats.counts.records);
        expect(stats.vectorDim).toBeGreaterThan(0);
        const { provider } = await engine.memory.provider(name);
        try {
          const r = await provider.retrieve('Iron rusts: iron oxide.');
          expect(r.memories.length).toBe(policy.memoriesPerRetrieval);
          expect(r.memories.map((m) => m.reference.source)).toContain('iron.txt');
        } finally {
          provider.close();
        }
        // A large bank's cosine index runs in its own worker: same answers, off the decoding thread.
        const store = await engine.memory.open(name);
        const make = (json: unknown) => Tokenizer.fromJSON(json, null);
        const here = await BankRetriever.open(store, make, Infinity),
          there = await BankRetriever.open(store, make, 1);
        try {
          expect(there.offThread).toBe(true);
          expect(here.offThread).toBe(false);
          for (const q of ['Iron rusts', 'whales in the sea', 'cats purr'])
            expect(await there.search(q, 3)).toEqual(await here.search(q, 3));
        } finally {
          here.close();
          there.close();
          store.close();
        }
      } finally {
        await deleteBank(name);
      }
    });
  }

  test('a corrupted record is reported and skipped; decoding goes on with the other memories', async () => {
    const prompt = engine.tokenizer.encode('Iron rusts: iron oxide.', { addSpecialTokens: true });
    const opts = { tokens: prompt, maxTokens: 4, temperature: 0, ignoreEos: true, memory: { bank, policy: { retrievalInterval: 24 } } };
    const before = await engine.generate(opts);
    const victim = before.retrievals![0].references[0].id;
    const db = await openDB(await currentDb(bank));
    const row = await db.get('records', victim);
    row.payload = row.payload.slice();
    row.payload[0] ^= 0xff; // flip bits: the stored CRC-32 no longer matches
    await db.put('records', row);
    db.close();
    const after = await engine.generate(opts);
    const first = after.retrievals![0];
    expect(first.corrupt).toContain(victim);
    expect(first.references.map((r) => r.id)).not.toContain(victim);
    // The other memories are still read (and the next candidate may take the freed place).
    const others = before.retrievals![0].references.map((r) => r.id).filter((id) => id !== victim);
    expect(others.length).toBeGreaterThan(0);
    for (const id of others) expect(first.references.map((r) => r.id)).toContain(id);
    expect(after.tokens.length).toBe(4);
  });

  test('aborting a generation with memory leaves the engine usable', async () => {
    const ctl = new AbortController();
    let n = 0;
    await expect(
      engine.generate(
        { prompt: 'Cats and the sea', maxTokens: 40, temperature: 0, ignoreEos: true, memory: { bank } },
        () => {
          if (++n === 5) ctl.abort();
        },
        ctl.signal,
      ),
    ).rejects.toBeInstanceOf(GenerationAbortedError);
    const ok = await engine.generate({ prompt: 'Cats and the sea', maxTokens: 5, temperature: 0, ignoreEos: true, memory: { bank } });
    expect(ok.tokens.length).toBe(5);
  });
});
