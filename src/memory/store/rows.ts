/**
 * The one write path of a bank: rows go in through writeRows inside a readwrite transaction that
 * also updates the meta counts, so counts always match content (putBatch, import and the overwrite
 * copy all use it). An id that is already stored is replaced: its old record and vector go too.
 */
import type { IDBPObjectStore, IDBPTransaction } from 'idb';
import { InvalidOptionsError, ShapeMismatchError } from '../../util/errors';
import type { Reference } from '../types';
import { storeFaultHooks } from './fault-hooks';
import { mapStorageError } from './storage-errors';
import type { BankDB, BankDb, BankMeta, BankMetaCore, DocumentRow, RecordRow, VectorRow } from './schema';

export interface RowSet {
  reference: Reference;
  record?: RecordRow;
  vector?: VectorRow;
}

type StoreName = 'meta' | 'references' | 'records' | 'vectors' | 'documents';
export type WriteTx = IDBPTransaction<BankDB, StoreName[], 'readwrite'>;
export type ReadTx = IDBPTransaction<BankDB, StoreName[], 'readonly' | 'readwrite'>;
const noop = () => {};

/** A put that reports to the fault hook; its failure surfaces through the transaction's `done`. */
export function putValue<N extends StoreName>(
  store: IDBPObjectStore<BankDB, StoreName[], N, 'readwrite'>,
  value: unknown,
  key?: string,
): void {
  storeFaultHooks.beforePut?.(store.name);
  const p = key === undefined ? store.put(value as never) : store.put(value as never, key as never);
  p.catch(noop);
}

/** Runs fn in one readwrite transaction: all of it commits or none (abort on any throw). */
export async function runWrite<T>(
  db: BankDb,
  stores: StoreName[],
  what: string,
  fn: (tx: WriteTx) => Promise<T>,
  opts: { durability?: IDBTransactionDurability } = {},
): Promise<T> {
  const tx = db.transaction(stores, 'readwrite', opts) as WriteTx;
  const done = tx.done;
  done.catch(noop);
  try {
    const result = await fn(tx);
    await done;
    await storeFaultHooks.checkpoint?.('committed', what);
    return result;
  } catch (e) {
    try {
      tx.abort();
    } catch {
      /* already finished or aborted */
    }
    await done.catch(noop);
    throw mapStorageError(e, what);
  }
}

export async function readMeta(tx: ReadTx): Promise<BankMeta> {
  const store = tx.objectStore('meta');
  const [core, codebooks, retriever] = await Promise.all([store.get('bank'), store.get('codebooks'), store.get('retriever')]);
  const meta = { ...(core as BankMetaCore) } as BankMeta;
  if (codebooks !== undefined) meta.codebooks = codebooks as Uint8Array;
  if (retriever !== undefined) meta.retrieverState = retriever;
  return meta;
}

/** Splits meta into its three keys; writes the opaque ones only when asked. */
export function writeMeta(tx: WriteTx, meta: BankMeta, opaque: boolean): void {
  const { codebooks, retrieverState, ...core } = meta;
  const store = tx.objectStore('meta');
  putValue(store, core, 'bank');
  if (!opaque) return;
  if (codebooks !== undefined) putValue(store, codebooks, 'codebooks');
  else void store.delete('codebooks').catch(noop);
  if (retrieverState !== undefined) putValue(store, retrieverState, 'retriever');
  else void store.delete('retriever').catch(noop);
}

export const recordBytes = (r: RecordRow) => r.payload.byteLength + r.positions.byteLength;

function checkVector(meta: BankMetaCore, v: VectorRow): void {
  if (meta.vectorDim === null) meta.vectorDim = v.vector.length;
  if (v.vector.length !== meta.vectorDim || v.vector.length === 0) {
    throw new ShapeMismatchError(
      `memory bank "${meta.name}": vector of reference ${v.id} has ${v.vector.length} values, the bank's vectors have ${meta.vectorDim}`,
      { id: v.id, expected: meta.vectorDim, actual: v.vector.length },
    );
  }
}

/** Removes what is stored under an id that is about to be replaced or deleted (counts follow). */
async function dropOld(tx: WriteTx, meta: BankMetaCore, id: number): Promise<void> {
  const [ref, rec, vec] = await Promise.all([
    tx.objectStore('references').getKey(id),
    tx.objectStore('records').get(id),
    tx.objectStore('vectors').get(id),
  ]);
  if (ref !== undefined) meta.counts.references--;
  if (rec) {
    meta.counts.records--;
    meta.bytes -= recordBytes(rec);
    void tx.objectStore('records').delete(id).catch(noop);
  }
  if (vec) {
    meta.counts.vectors--;
    meta.bytes -= vec.vector.byteLength;
    void tx.objectStore('vectors').delete(id).catch(noop);
  }
}

/** Writes row sets (ids already assigned) and updates meta's counts, bytes and nextId in place. */
export async function writeRows(tx: WriteTx, meta: BankMetaCore, rows: RowSet[]): Promise<void> {
  const ids = new Set(rows.map((r) => r.reference.id));
  if (ids.size !== rows.length)
    throw new InvalidOptionsError(`memory bank "${meta.name}": one write batch names the same reference id twice`);
  const maybeStored = rows.filter((r) => r.reference.id < meta.nextId).map((r) => r.reference.id);
  await Promise.all(maybeStored.map((id) => dropOld(tx, meta, id)));
  for (const row of rows) {
    putValue(tx.objectStore('references'), row.reference);
    meta.counts.references++;
    if (row.record) {
      putValue(tx.objectStore('records'), row.record);
      meta.counts.records++;
      meta.bytes += recordBytes(row.record);
    }
    if (row.vector) {
      checkVector(meta, row.vector);
      putValue(tx.objectStore('vectors'), row.vector);
      meta.counts.vectors++;
      meta.bytes += row.vector.vector.byteLength;
    }
    meta.nextId = Math.max(meta.nextId, row.reference.id + 1);
  }
}

/** Deletes ids with their records and vectors (counts follow). */
export async function deleteRows(tx: WriteTx, meta: BankMetaCore, ids: number[]): Promise<void> {
  await Promise.all(ids.map((id) => dropOld(tx, meta, id)));
  for (const id of ids) void tx.objectStore('references').delete(id).catch(noop);
}

/** Puts a document row; counts a new source (`existed`: a row for that source is already stored). */
export function writeDocument(tx: WriteTx, meta: BankMetaCore, doc: DocumentRow, existed: boolean): void {
  if (!existed) meta.counts.documents++;
  putValue(tx.objectStore('documents'), doc);
}

export async function readCore(tx: ReadTx): Promise<BankMetaCore> {
  return (await tx.objectStore('meta').get('bank')) as BankMetaCore;
}

/** A copy whose buffer is exactly the view (structured clone stores a view's whole buffer). */
export function tight<T extends Uint8Array | Uint16Array | Float32Array>(v: T): T {
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : (v.slice() as T);
}
