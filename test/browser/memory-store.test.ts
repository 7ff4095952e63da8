/** Memory bank store in real IndexedDB: writes, reads, checksums, mismatches, quota, concurrency, documents. */
import { afterEach, describe, expect, test } from 'vitest';
import { policyFingerprint } from '../../src/memory/policy';
import {
  type BankStore,
  bankStats,
  crc32,
  createBank,
  deleteBank,
  exportBank,
  importBank,
  listBanks,
  openBank,
  recordChecksum,
} from '../../src/memory/store/index';
import {
  BankClosedError,
  BankExistsError,
  BankMismatchError,
  BankNotFoundError,
  ShapeMismatchError,
  StorageQuotaError,
} from '../../src/util/errors';
import { bankDatabases, makeItems, rawContents, simulateQuota, testMeta, uniqueBankName, writeRawRecord } from '../helpers/memory-store';

const made: string[] = [];
async function newBank(tag: string, meta = testMeta()): Promise<BankStore> {
  const name = uniqueBankName(tag);
  made.push(name);
  return createBank(name, meta);
}

afterEach(async () => {
  for (const name of made.splice(0)) await deleteBank(name).catch(() => {});
});

/** Meta counts equal what the object stores hold. */
async function expectConsistent(name: string) {
  const raw = await rawContents(name);
  expect(raw.meta.counts).toEqual({
    references: raw.references.length,
    records: raw.records.length,
    vectors: raw.vectors.length,
    documents: raw.documents.length,
  });
  const bytes =
    raw.records.reduce((n, r) => n + r.payload.byteLength + r.positions.byteLength, 0) +
    raw.vectors.reduce((n, v) => n + v.vector.byteLength, 0);
  expect(raw.meta.bytes).toBe(bytes);
  return raw;
}

describe('memory bank store', () => {
  test('CRC-32 matches the standard check value, incrementally too', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(crc32(bytes)).toBe(0xcbf43926);
    expect(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4)))).toBe(0xcbf43926);
    const positions = Uint16Array.of(1, 0x0302);
    expect(recordChecksum(bytes, positions)).toBe(crc32(Uint8Array.of(...bytes, 1, 0, 2, 3)));
  });

  test('a record round-trips byte-identical; references and vectors too', async () => {
    const store = await newBank('roundtrip');
    const items = makeItems(1, 5, 'doc-a');
    const ids = await store.putBatch(items);
    expect(ids).toEqual([0, 1, 2, 3, 4]);
    const { records, corrupt, missing } = await store.getRecords([...ids, 99]);
    expect(corrupt).toEqual([]);
    expect(missing).toEqual([99]);
    ids.forEach((id, i) => {
      expect(Array.from(records.get(id)!.payload)).toEqual(Array.from(items[i].record!.payload));
      expect(Array.from(records.get(id)!.positions)).toEqual(Array.from(items[i].record!.positions));
    });
    const refs = await store.getReferences(ids);
    expect(refs.get(3)).toEqual({ id: 3, ...items[3].reference });
    expect((await store.referencesBySource('doc-a')).map((r) => r.id)).toEqual(ids);
    const vecs = await store.allVectors();
    expect(vecs.ids).toEqual(ids);
    expect(Array.from(vecs.vectors[2])).toEqual(Array.from(items[2].vector!));
    expect(store.meta.counts).toEqual({ references: 5, records: 5, vectors: 5, documents: 0 });
    await expectConsistent(store.name);
    store.close();
  });

  test('token ids stored with a reference round-trip, through export and import too; a reference without them loads as before', async () => {
    const store = await newBank('tokens');
    const items = makeItems(11, 3, 'doc-t');
    items[0].reference.tokens = Array.from({ length: items[0].reference.tokenCount }, (_, i) => 7 + i);
    items[2].reference.tokens = Array.from({ length: items[2].reference.tokenCount }, (_, i) => 300 - i);
    const ids = await store.putBatch(items); // items[1]: no tokens, as every reference written before
    const refs = await store.getReferences(ids);
    expect(refs.get(ids[0])!.tokens).toEqual(items[0].reference.tokens);
    expect(refs.get(ids[1])).toEqual({ id: ids[1], ...items[1].reference });
    expect('tokens' in refs.get(ids[1])!).toBe(false);
    expect(refs.get(ids[2])!.tokens).toEqual(items[2].reference.tokens);
    const bad = makeItems(12, 1, 'doc-t');
    bad[0].reference.tokens = [1, 2.5];
    await expect(store.putBatch(bad)).rejects.toThrow(/tokens must be/);
    store.close();
    const file = new Uint8Array(await new Response(exportBank(store.name)).arrayBuffer());
    const copyName = uniqueBankName('tokens-copy');
    made.push(copyName);
    const copy = await importBank(new Blob([file]), { name: copyName });
    expect(await copy.getReferences(ids)).toEqual(refs);
    copy.close();
  });

  test('a view into a larger buffer stores only its bytes', async () => {
    const store = await newBank('views');
    const big = new Uint8Array(1000).map((_, i) => i & 0xff);
    const item = makeItems(2, 1, 's')[0];
    item.record!.payload = big.subarray(10, 30);
    const [id] = await store.putBatch([item]);
    const raw = await rawContents(store.name);
    expect(raw.records[0].payload.buffer.byteLength).toBe(20);
    expect(Array.from((await store.getRecords([id])).records.get(id)!.payload)).toEqual(Array.from(big.subarray(10, 30)));
    store.close();
  });

  test('caller ids replace what is stored under them; counts follow', async () => {
    const store = await newBank('replace');
    await store.putBatch(makeItems(3, 4, 's', { ids: [10, 11, 12, 13] }));
    const again = makeItems(4, 2, 's', { ids: [11, 12], vectors: false });
    delete again[1].record;
    await store.putBatch(again);
    const raw = await expectConsistent(store.name);
    expect(raw.meta.counts).toEqual({ references: 4, records: 3, vectors: 2, documents: 0 });
    expect(raw.meta.nextId).toBe(14);
    const got = await store.getRecords([11, 12]);
    expect(Array.from(got.records.get(11)!.payload)).toEqual(Array.from(again[0].record!.payload));
    expect(got.missing).toEqual([12]);
    expect(await store.putBatch(makeItems(5, 1, 's'))).toEqual([14]);
    store.close();
  });

  test('bad shapes are refused before anything is written', async () => {
    const store = await newBank('shapes');
    const items = makeItems(6, 3, 's');
    items[2].record!.positions = new Uint16Array(5);
    await expect(store.putBatch(items)).rejects.toBeInstanceOf(ShapeMismatchError);
    const wrongDim = makeItems(7, 2, 's');
    wrongDim[1].vector = new Float32Array(7);
    await expect(store.putBatch(wrongDim)).rejects.toBeInstanceOf(ShapeMismatchError);
    const raw = await expectConsistent(store.name);
    expect(raw.references.length).toBe(0);
    store.close();
  });

  test('a corrupted record is reported in corrupt, the others are returned', async () => {
    const store = await newBank('corrupt');
    const ids = await store.putBatch(makeItems(8, 4, 's'));
    const raw = await rawContents(store.name);
    const victim = raw.records[2];
    const payload = victim.payload.slice();
    payload[5] ^= 0x40;
    await writeRawRecord(store.name, { ...victim, payload });
    expect(recordChecksum(payload, victim.positions)).not.toBe(victim.checksum);
    const { records, corrupt } = await store.getRecords(ids);
    expect(corrupt).toEqual([ids[2]]);
    expect([...records.keys()]).toEqual([ids[0], ids[1], ids[3]]);
    store.close();
  });

  test('opening with another model or policy → BankMismatchError naming both fingerprints', async () => {
    const meta = testMeta();
    const store = await newBank('mismatch', meta);
    store.close();
    const own = policyFingerprint(meta.policy);
    const ok = await openBank(store.name, { modelFingerprint: 'model-A', policyFingerprint: own });
    ok.close();
    const e1 = await openBank(store.name, { modelFingerprint: 'model-B' }).catch((e) => e);
    expect(e1).toBeInstanceOf(BankMismatchError);
    expect(e1.message).toContain('model-A');
    expect(e1.message).toContain('model-B');
    const other = policyFingerprint({ ...meta.policy, tokensPerHead: 8 });
    const e2 = await openBank(store.name, { policyFingerprint: other }).catch((e) => e);
    expect(e2).toBeInstanceOf(BankMismatchError);
    expect(e2.message).toContain(own);
    expect(e2.message).toContain(other);
  });

  test('create refuses an existing name unless overwrite; open of a missing bank → BankNotFoundError', async () => {
    const store = await newBank('exists');
    await store.putBatch(makeItems(9, 2, 's'));
    await expect(createBank(store.name, testMeta())).rejects.toBeInstanceOf(BankExistsError);
    expect((await rawContents(store.name)).references.length).toBe(2);
    const fresh = await createBank(store.name, testMeta({ modelFingerprint: 'model-C' }), { overwrite: true });
    expect(fresh.meta.counts.references).toBe(0);
    expect(fresh.meta.modelFingerprint).toBe('model-C');
    expect(store.closed).toBe(true);
    await expect(store.getRecords([0])).rejects.toBeInstanceOf(BankClosedError);
    fresh.close();
    const missing = uniqueBankName('missing');
    await expect(openBank(missing)).rejects.toBeInstanceOf(BankNotFoundError);
    expect(await bankDatabases(missing)).toEqual([]);
  });

  test('listBanks, bankStats, deleteBank (with a connection still open)', async () => {
    const a = await newBank('list');
    const b = await newBank('list');
    await a.putBatch(makeItems(10, 3, 'x'), { source: 'x', status: 'done', hash: 'h1' });
    const names = (await listBanks()).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([a.name, b.name]));
    const summary = (await listBanks()).find((s) => s.name === a.name)!;
    expect(summary).toMatchObject({
      state: 'ready',
      modelFingerprint: 'model-A',
      counts: { references: 3, records: 3, vectors: 3, documents: 1 },
    });
    const stats = await bankStats(a.name);
    expect(stats.documents).toEqual({ done: 1, partial: 0 });
    expect(stats.vectorDim).toBe(6);
    expect(stats.bytes).toBe(a.meta.bytes);
    const raw = await rawContents(a.name);
    const recordBytes = raw.records.reduce((n, r) => n + r.payload.byteLength + r.positions.byteLength, 0);
    expect(stats.bytesPerRecord).toBeCloseTo(recordBytes / 3, 10);
    await deleteBank(a.name);
    expect(a.closed).toBe(true);
    expect((await listBanks()).map((s) => s.name)).not.toContain(a.name);
    await expect(bankStats(a.name)).rejects.toBeInstanceOf(BankNotFoundError);
    await expect(deleteBank(a.name)).rejects.toBeInstanceOf(BankNotFoundError);
    b.close();
  });

  test('document status makes an interrupted encoding resumable without duplicates', async () => {
    const store = await newBank('resume');
    const all = makeItems(11, 10, 'book');
    await store.putBatch(all.slice(0, 4), { source: 'book', status: 'partial', hash: 'H' });
    await store.putBatch(all.slice(4, 6), { source: 'book', status: 'partial', hash: 'H' });
    store.close();
    // A new session (after a crash) resumes from what the status says.
    const again = await openBank(store.name);
    const status = (await again.documentStatus('book'))!;
    expect(status).toMatchObject({ status: 'partial', hash: 'H', referenceIds: [0, 1, 2, 3, 4, 5] });
    const done = await again.getReferences(status.referenceIds);
    const resumeFrom = Math.max(...[...done.values()].map((r) => r.end));
    const rest = all.filter((it) => it.reference.start > resumeFrom);
    await again.putBatch(rest, { source: 'book', status: 'done', hash: 'H' });
    const final = (await again.documentStatus('book'))!;
    expect(final.status).toBe('done');
    expect(final.referenceIds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const refs = await again.referencesBySource('book');
    expect(refs.map((r) => r.text)).toEqual(all.map((it) => it.reference.text));
    expect(await again.documentStatus('other')).toBeUndefined();
    await again.deleteDocument('book');
    const raw = await expectConsistent(again.name);
    expect(raw.meta.counts).toEqual({ references: 0, records: 0, vectors: 0, documents: 0 });
    again.close();
  });

  test('quota exceeded mid-transaction → StorageQuotaError, nothing of the batch kept, counts consistent', async () => {
    const store = await newBank('quota');
    await store.putBatch(makeItems(12, 3, 's'), { source: 's', status: 'partial', hash: 'h' });
    const before = await rawContents(store.name);
    const restore = simulateQuota(7);
    try {
      const err = await store.putBatch(makeItems(13, 5, 's'), { source: 's', status: 'done', hash: 'h' }).catch((e) => e);
      expect(err).toBeInstanceOf(StorageQuotaError);
      expect(err.message).toContain(store.name);
      await expect(store.updateMeta({ codebooks: new Uint8Array(10) })).rejects.toBeInstanceOf(StorageQuotaError);
    } finally {
      restore();
    }
    const after = await expectConsistent(store.name);
    expect(after).toEqual(before);
    expect(store.meta.counts).toEqual(before.meta.counts);
    expect((await store.documentStatus('s'))!.status).toBe('partial');
    expect(await store.putBatch(makeItems(14, 1, 's'))).toEqual([3]);
    store.close();
  });

  test('updateMeta stores codebooks and retriever state', async () => {
    const store = await newBank('meta');
    const codebooks = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    await store.updateMeta({ codebooks, retrieverState: { kind: 'lexical', index: '{"a":1}' } });
    const again = await openBank(store.name);
    expect(Array.from(again.meta.codebooks!)).toEqual(Array.from(codebooks));
    expect(again.meta.retrieverState).toEqual({ kind: 'lexical', index: '{"a":1}' });
    await again.updateMeta({ codebooks: null });
    expect(again.meta.codebooks).toBeUndefined();
    store.close();
    again.close();
  });

  test('concurrent writers (two connections and a Worker) lose and duplicate nothing', async () => {
    const first = await newBank('concurrent');
    const second = await openBank(first.name);
    const worker = new Worker(new URL('../helpers/memory-store-worker.ts', import.meta.url), { type: 'module' });
    const fromWorker = new Promise<{ ids?: number[]; error?: string }>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
    });
    worker.postMessage({ name: first.name, seed: 500, batches: 6, perBatch: 5, source: 'w' });
    const writes = Array.from({ length: 6 }, (_, b) => [
      first.putBatch(makeItems(100 + b, 5, 'a')),
      second.putBatch(makeItems(200 + b, 5, 'b')),
    ]).flat();
    const ids = (await Promise.all(writes)).flat();
    const w = await fromWorker;
    worker.terminate();
    expect(w.error).toBeUndefined();
    const everything = [...ids, ...w.ids!];
    expect(everything.length).toBe(90);
    expect(new Set(everything).size).toBe(90);
    const raw = await expectConsistent(first.name);
    expect(raw.meta.counts.references).toBe(90);
    expect(raw.meta.nextId).toBe(90);
    const check = await first.getRecords(everything);
    expect(check.records.size).toBe(90);
    expect(check.corrupt).toEqual([]);
    first.close();
    second.close();
  });
});
