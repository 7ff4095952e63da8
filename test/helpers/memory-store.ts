/** Helpers for the memory bank store tests (Chromium, real IndexedDB). */
import { openDB } from 'idb';
import { defaultPolicy } from '../../src/memory/policy';
import { storeFaultHooks, type BatchItem, type NewBankMeta } from '../../src/memory/store/index';
import { dbNameOf } from '../../src/memory/store/schema';
import { Prng } from '../../src/util/prng';

let serial = 0;
/** A bank name no other test (or earlier run) uses. */
export const uniqueBankName = (tag: string) => `test-${tag}-${Date.now().toString(36)}-${(serial++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** A small bank: 2 memory layers × 2 heads × 4 tokens, head dim 8. */
export function testMeta(over: Partial<NewBankMeta> = {}): NewBankMeta {
  const policy = { ...defaultPolicy({ numLayers: 4, numKvHeads: 2 }), tokensPerHead: 4 };
  return {
    modelFingerprint: 'model-A', policy, codec: policy.codec,
    shape: { memLayers: 2, memHeads: 2, tokensPerHead: 4, headDim: 8 }, vectorDim: 6, ...over,
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
      reference: { source, text: `${source} chunk ${i} ${rng.nextUint32().toString(16)}`, start: i * 100, end: i * 100 + 99, tokenCount: 1 + (i % 128) },
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
  return () => { storeFaultHooks.beforePut = null; };
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
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A stream that hands out `bytes` in chunks of `chunk` bytes (to exercise the incremental parser). */
export function chunkedStream(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) { c.close(); return; }
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** Everything stored in a bank, read directly through idb (bypassing BankStore), plus store counts. */
export async function rawContents(name: string) {
  const db = await openDB(dbNameOf(name));
  try {
    const [meta, references, records, vectors, documents] = await Promise.all([
      db.get('meta', 'bank'), db.getAll('references'), db.getAll('records'), db.getAll('vectors'), db.getAll('documents'),
    ]);
    return { meta, references, records, vectors, documents };
  } finally {
    db.close();
  }
}

/** Overwrites one stored record's row directly (to simulate on-disk corruption). */
export async function writeRawRecord(name: string, row: { id: number; payload: Uint8Array; positions: Uint16Array; checksum: number }): Promise<void> {
  const db = await openDB(dbNameOf(name));
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
