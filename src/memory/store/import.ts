/**
 * importBank: parses a bank file (container.ts) incrementally and writes it in batched transactions.
 * A new name is filled in place, with meta.state 'importing' until the trailer checks out. With
 * { overwrite } over an existing bank, the file goes into a temporary database first; only once
 * it is complete is the old bank deleted and the temporary copied in. Any failure removes what
 * was partially written; an existing bank is never touched without overwrite.
 */
import { BankExistsError, BankFormatError, StorageQuotaError } from '../../util/errors';
import { BankStore, dropDb } from './bank-store';
import { readDocBatch, readRowBatch } from './batches';
import { ByteReader, FORMAT_VERSION, Frame, MAGIC, parseJson, readFrame, restoreBlobs, type FrameIn } from './container';
import { mapStorageError } from './faults';
import { withBankLock } from './locks';
import { putValue, runWrite, writeDocument, writeRows, type RowSet } from './rows';
import {
  BANK_PREFIX, TMP_PREFIX, databaseNames, dbNameOf, openBankDb, tmpDbNameOf, type BankDb, type BankMeta, type BankMetaCore, type DocumentRow,
} from './schema';
import { parseBody, type ImportProgress } from './import-body';
import { checkBankName } from './validate';

export type { ImportProgress };
export interface ImportOptions {
  /** Bank name to import as (default: the name in the file). */
  name?: string;
  /** Replace an existing bank of that name (atomically from the file's point of view: see above). */
  overwrite?: boolean;
  onProgress?: (p: ImportProgress) => void;
}

const WHAT = 'importBank';

async function readHead(r: ByteReader): Promise<{ meta: BankMeta; blobs: number }> {
  const magic = await r.read(MAGIC.length, 'the magic bytes');
  if (magic.some((b, i) => b !== MAGIC[i])) throw new BankFormatError(`${WHAT}: not a memory bank file (bad magic bytes)`, { offset: 0 });
  const version = new DataView((await r.read(4, 'the format version')).slice().buffer).getUint32(0, true);
  if (version !== FORMAT_VERSION) throw new BankFormatError(`${WHAT}: bank file format version ${version}; this library reads ${FORMAT_VERSION}`, { offset: 8, version });
  const f = await readFrame(r, WHAT);
  if (f.kind !== Frame.header) throw new BankFormatError(`${WHAT}: the first frame (offset ${f.offset}) is kind ${f.kind}, not the header`, { offset: f.offset });
  const h = parseJson(f, WHAT) as { format?: unknown; meta?: unknown; blobs?: unknown };
  if (h?.format !== 'memory3-bank' || !h.meta || !Number.isInteger(h.blobs)) throw new BankFormatError(`${WHAT}: header at offset ${f.offset} is not a memory3-bank header`, { offset: f.offset });
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < (h.blobs as number); i++) {
    const b: FrameIn = await readFrame(r, WHAT);
    if (b.kind !== Frame.blob) throw new BankFormatError(`${WHAT}: expected blob ${i} at offset ${b.offset}, found frame kind ${b.kind}`, { offset: b.offset });
    blobs.push(b.payload);
  }
  const meta = restoreBlobs(h.meta, blobs) as BankMeta;
  if (typeof meta.name !== 'string' || !meta.counts || !meta.shape || !meta.policy || typeof meta.modelFingerprint !== 'string') {
    throw new BankFormatError(`${WHAT}: the header's meta is missing fields`, { offset: f.offset });
  }
  return { meta, blobs: blobs.length };
}

/** The meta a bank starts with while being filled: the file's, empty counts, state 'importing'. */
function startMeta(fileMeta: BankMeta, name: string): BankMeta {
  return { ...fileMeta, name, state: 'importing', counts: { references: 0, records: 0, vectors: 0, documents: 0 }, bytes: 0, nextId: 0 };
}

async function createTarget(dbName: string, meta: BankMeta): Promise<BankDb> {
  await dropDb(dbName);
  const { db } = await openBankDb(dbName, { create: true, initial: meta });
  return db;
}

/** Copies a complete temporary bank into `dbName` (batched), then marks it ready with `final`. */
async function copyBank(src: BankDb, dbName: string, final: BankMeta): Promise<void> {
  const db = await createTarget(dbName, startMeta(final, final.name));
  try {
    const core = startMeta(final, final.name) as BankMetaCore;
    delete (core as BankMeta).codebooks; delete (core as BankMeta).retrieverState;
    for (let last = -1; ;) {
      const rows: RowSet[] = await readRowBatch(src, last, 256);
      if (!rows.length) break;
      last = rows[rows.length - 1].reference.id;
      await runWrite(db, ['meta', 'references', 'records', 'vectors'], `${WHAT}: copying into "${final.name}"`, async (tx) => {
        await writeRows(tx, core, rows);
        putValue(tx.objectStore('meta'), core, 'bank');
      });
    }
    for (let last: string | null = null; ;) {
      const docs: DocumentRow[] = await readDocBatch(src, last, 256);
      if (!docs.length) break;
      last = docs[docs.length - 1].source;
      await runWrite(db, ['meta', 'documents'], `${WHAT}: copying into "${final.name}"`, async (tx) => {
        docs.forEach((d) => writeDocument(tx, core, d, false));
        putValue(tx.objectStore('meta'), core, 'bank');
      });
    }
    await finalize(db, core, final);
  } finally {
    db.close();
  }
}

/** Checks that the written counts match the file's meta, then writes the file's meta as 'ready'. */
export async function finalize(db: BankDb, written: BankMetaCore, fileMeta: BankMeta): Promise<void> {
  const a = written.counts;
  const b = fileMeta.counts;
  if (a.references !== b.references || a.records !== b.records || a.vectors !== b.vectors || a.documents !== b.documents || written.bytes !== fileMeta.bytes) {
    throw new BankFormatError(`${WHAT}: the file's meta promises ${JSON.stringify(b)} (${fileMeta.bytes} bytes), its frames hold ${JSON.stringify(a)} (${written.bytes} bytes)`);
  }
  const { codebooks: _c, retrieverState: _r, ...core } = fileMeta;
  const ready: BankMetaCore = { ...core, name: written.name, nextId: Math.max(core.nextId, written.nextId), vectorDim: written.vectorDim, state: 'ready' };
  await runWrite(db, ['meta'], `${WHAT}: finishing "${written.name}"`, async (tx) => { putValue(tx.objectStore('meta'), ready, 'bank'); });
}

/**
 * The overwrite copy needs about the bank's size again; refuse before the old bank is deleted when
 * the origin's estimate says it will not fit (the copy is the one step that cannot keep the old bank).
 */
async function ensureRoomForCopy(meta: BankMeta): Promise<void> {
  const est = await globalThis.navigator?.storage?.estimate?.().catch(() => undefined);
  if (!est?.quota || est.usage === undefined) return;
  const need = Math.ceil(meta.bytes * 1.25);
  if (est.quota - est.usage < need) {
    throw new StorageQuotaError(`${WHAT}: replacing "${meta.name}" needs about ${need} more bytes, the origin has ${est.quota - est.usage} left; the existing bank was kept`, { need, free: est.quota - est.usage });
  }
}

async function importLocked(r: ByteReader, fileMeta: BankMeta, blobs: number, name: string, opts: ImportOptions): Promise<void> {
  const exists = (await databaseNames(BANK_PREFIX)).includes(name);
  if (exists && !opts.overwrite) throw new BankExistsError(`${WHAT}: memory bank "${name}" already exists (pass { overwrite: true } to replace it)`, { bank: name });
  if ((await databaseNames(TMP_PREFIX)).includes(name)) await dropDb(tmpDbNameOf(name));
  const target = exists ? tmpDbNameOf(name) : dbNameOf(name);
  const meta = startMeta(fileMeta, name);
  const db = await createTarget(target, meta);
  let copying = false;
  try {
    const written = await parseBody(r, db, meta, blobs, opts.onProgress);
    await finalize(db, written, { ...fileMeta, name });
    if (exists) {
      await ensureRoomForCopy(fileMeta);
      copying = true;
      await dropDb(dbNameOf(name));
      await copyBank(db, dbNameOf(name), { ...fileMeta, name });
    }
  } catch (e) {
    db.close();
    await dropDb(target);
    if (copying) await dropDb(dbNameOf(name));
    throw e;
  }
  db.close();
  if (exists) await dropDb(target);
}

/**
 * Imports a bank file. Errors: BankFormatError / TruncatedFileError (with the byte offset),
 * BankExistsError, StorageQuotaError; after any of them no partial bank is left.
 */
export async function importBank(source: ReadableStream<Uint8Array> | Blob, opts: ImportOptions = {}): Promise<BankStore> {
  const stream = source instanceof Blob ? source.stream() : source;
  const r = new ByteReader(stream.getReader(), WHAT);
  let name = '';
  try {
    const { meta, blobs } = await readHead(r);
    name = opts.name ?? meta.name;
    checkBankName(name);
    await withBankLock(name, () => importLocked(r, meta, blobs, name, opts));
  } catch (e) {
    throw mapStorageError(e, `${WHAT}("${name}")`);
  } finally {
    await r.cancel();
  }
  return BankStore.open(name);
}
