/** Helpers for the memory bank store tests (Chromium, real IndexedDB). */
import { openDB } from 'idb';
import { defaultPolicy } from '../../src/memory/policy';
import { openBank, recordChecksum, storeFaultHooks, type BatchItem, type NewBankMeta } from '../../src/memory/store/index';
import { bankDatabase, bankOfDatabase } from '../../src/memory/store/directory';
import { Prng } from '../../src/util/prng';

let serial = 0;
/** A bank name no other test (or earlier run) uses. */
export const uniqueBankName = (tag: string) =>
  `test-${tag}-${Date.now().toString(36)}-${(serial++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** A small bank: 2 memory layers × 2 heads × 4 tokens, head dim 8. */
export function testMeta(over: Partial<NewBankMeta> = {}): NewBankMeta {
  const policy = { ...defaultPolicy({ numLayers: 4, numKvHeads: 2 }), tokensPerHead: 4 };
  return {
    modelFingerprint: 'model-A',
    policy,
    codec: policy.codec,
    shape: { memLayers: 2, memHeads: 2, tokensPerHead: 4, headDim: 8 },
    vectorDim: 6,
    ...over,
  };
}
export const positionsPerRecord = 2 * 2 * 4;

/** Seeded items: payload bytes of varying length, positions, a vector; `id` left to the bank unless given. */
export function makeItems(seed: number, n: number, source: string, opts: { ids?: number[]; vectors?: boolean } = {}): BatchItem[] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const payload = new Uint8Array(40 + (rng.nextUint32() % 60));
    for (let j = 0; j < payload.length; j++) payload[j] = rng.nextUint32() & 0xff;
    const positions = new Uint16Array(positionsPerRecord);
    for (let j = 0; j < positions.length; j++) positions[j] = rng.nextUint32() % 132;
    const item: BatchItem = {
      reference: {
        source,
        text: `${source} chunk ${i} ${rng.nextUint32().toString(16)}`,
        start: i * 100,
        end: i * 100 + 99,
        tokenCount: 1 + (i % 128),
      },
      record: { payload, positions },
    };
    if (opts.ids) item.reference.id = opts.ids[i];
    if (opts.vectors !== false) item.vector = Float32Array.from({ length: 6 }, () => rng.nextFloat() * 2 - 1);
    return item;
  });
}

/**
 * Makes the store's puts fail the way Chromium does when the origin's quota is full: a DOMException
 * named QuotaExceededError raised inside the write transaction, after `afterPuts` puts succeeded.
 * Returns a function that removes the fault.
 */
export function simulateQuota(afterPuts = 0): () => void {
  let puts = 0;
  storeFaultHooks.beforePut = () => {
    if (puts++ >= afterPuts) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  return () => {
    storeFaultHooks.beforePut = null;
  };
}

/** Reads a stream to one array. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A stream that hands out `bytes` in chunks of `chunk` bytes (to exercise the incremental parser). */
export function chunkedStream(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) {
        c.close();
        return;
      }
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** The database the bank directory names for a bank (throws when there is none). */
export async function currentDb(name: string): Promise<string> {
  const db = await bankDatabase(name);
  if (db === null) throw new Error(`test: bank "${name}" is not in the directory`);
  return db;
}

/** Every database that belongs to a bank (its current one, and leftovers of interrupted writes). */
export async function bankDatabases(name: string): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => bankOfDatabase(n) === name);
}

/** Everything stored in a bank, read directly through idb (bypassing BankStore), plus store counts. */
export async function rawContents(name: string) {
  const db = await openDB(await currentDb(name));
  try {
    const [meta, references, records, vectors, documents] = await Promise.all([
      db.get('meta', 'bank'),
      db.getAll('references'),
      db.getAll('records'),
      db.getAll('vectors'),
      db.getAll('documents'),
    ]);
    return { meta, references, records, vectors, documents };
  } finally {
    db.close();
  }
}

/** Overwrites one stored record's row directly (to simulate on-disk corruption). */
export async function writeRawRecord(
  name: string,
  row: { id: number; payload: Uint8Array; positions: Uint16Array; checksum: number },
): Promise<void> {
  const db = await openDB(await currentDb(name));
  try {
    await db.put('records', row);
  } finally {
    db.close();
  }
}

/** Whether an IndexedDB database of this exact name exists. */
export async function databaseExists(dbName: string): Promise<boolean> {
  return (await indexedDB.databases()).some((d) => d.name === dbName);
}

/**
 * The full consistency check of a stored bank: it opens (state 'ready'), its meta counts and bytes
 * equal what its stores hold, every record's checksum matches its bytes, every record and vector
 * belongs to a reference, ids lie below nextId, and every document lists only its own stored
 * references. Returns the raw contents; throws (a test failure) on the first violation.
 */
export async function checkBank(name: string) {
  const store = await openBank(name);
  const meta = store.meta;
  store.close();
  const raw = await rawContents(name);
  const fail = (what: string) => {
    throw new Error(`bank "${name}" is inconsistent: ${what}`);
  };
  if (meta.state !== 'ready') fail(`state ${meta.state}`);
  const counts = {
    references: raw.references.length,
    records: raw.records.length,
    vectors: raw.vectors.length,
    documents: raw.documents.length,
  };
  if (JSON.stringify(raw.meta.counts) !== JSON.stringify(counts))
    fail(`meta counts ${JSON.stringify(raw.meta.counts)}, stores hold ${JSON.stringify(counts)}`);
  const bytes =
    raw.records.reduce((n, r) => n + r.payload.byteLength + r.positions.byteLength, 0) +
    raw.vectors.reduce((n, v) => n + v.vector.byteLength, 0);
  if (raw.meta.bytes !== bytes) fail(`meta bytes ${raw.meta.bytes}, stores hold ${bytes}`);
  const refs = new Map(raw.references.map((r) => [r.id as number, r]));
  for (const r of raw.records) {
    if (!refs.has(r.id)) fail(`record ${r.id} has no reference`);
    if (recordChecksum(r.payload, r.positions) !== r.checksum) fail(`record ${r.id} fails its checksum`);
  }
  for (const v of raw.vectors) if (!refs.has(v.id)) fail(`vector ${v.id} has no reference`);
  for (const id of refs.keys()) if (id >= raw.meta.nextId) fail(`reference ${id} is not below nextId ${raw.meta.nextId}`);
  const listed = new Map(raw.documents.map((d) => [d.source, new Set(d.referenceIds)]));
  for (const d of raw.documents) {
    for (const id of d.referenceIds)
      if (refs.get(id)?.source !== d.source) fail(`document ${d.source} lists reference ${id}, which is not stored for it`);
  }
  for (const r of raw.references)
    if (listed.has(r.source) && !listed.get(r.source)!.has(r.id))
      fail(`reference ${r.id} of ${r.source} is missing from its document's list`);
  return raw;
}
