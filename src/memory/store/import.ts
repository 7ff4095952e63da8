/**
 * importBank: parses a bank file (container.ts) incrementally and writes it in batched transactions
 * into a database of its own, with meta.state 'importing' until the trailer checks out; then the
 * bank directory is switched to it (directory.ts). A crash at any point leaves the old bank (or
 * none) or the new one, whole; any failure removes what was partially written; an existing bank
 * is never touched without overwrite.
 */
import { BankExistsError, BankFormatError } from '../../util/errors';
import { BankStore, dropDb, replaceBank } from './bank-store';
import { ByteReader, FORMAT_VERSION, Frame, MAGIC, parseJson, readFrame, restoreBlobs, type FrameIn } from './container';
import { mapStorageError } from './storage-errors';
import { withBankLock } from './locks';
import { bankDatabase, newGenerationName, sweepBank } from './directory';
import { putValue, runWrite } from './rows';
import { openBankDb, type BankDb, type BankMeta, type BankMetaCore } from './schema';
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
  if (version !== FORMAT_VERSION)
    throw new BankFormatError(`${WHAT}: bank file format version ${version}; this library reads ${FORMAT_VERSION}`, { offset: 8, version });
  const f = await readFrame(r, WHAT);
  if (f.kind !== Frame.header)
    throw new BankFormatError(`${WHAT}: the first frame (offset ${f.offset}) is kind ${f.kind}, not the header`, { offset: f.offset });
  const h = parseJson(f, WHAT) as { format?: unknown; meta?: unknown; blobs?: unknown };
  if (h?.format !== 'memory3-bank' || !h.meta || !Number.isInteger(h.blobs))
    throw new BankFormatError(`${WHAT}: header at offset ${f.offset} is not a memory3-bank header`, { offset: f.offset });
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < (h.blobs as number); i++) {
    const b: FrameIn = await readFrame(r, WHAT);
    if (b.kind !== Frame.blob)
      throw new BankFormatError(`${WHAT}: expected blob ${i} at offset ${b.offset}, found frame kind ${b.kind}`, { offset: b.offset });
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

/** Checks that the written counts match the file's meta, then writes the file's meta as 'ready'. */
export async function finalize(db: BankDb, written: BankMetaCore, fileMeta: BankMeta): Promise<void> {
  const a = written.counts;
  const b = fileMeta.counts;
  if (
    a.references !== b.references ||
    a.records !== b.records ||
    a.vectors !== b.vectors ||
    a.documents !== b.documents ||
    written.bytes !== fileMeta.bytes
  ) {
    throw new BankFormatError(
      `${WHAT}: the file's meta promises ${JSON.stringify(b)} (${fileMeta.bytes} bytes), its frames hold ${JSON.stringify(a)} (${written.bytes} bytes)`,
    );
  }
  const { codebooks: _c, retrieverState: _r, ...core } = fileMeta;
  const ready: BankMetaCore = {
    ...core,
    name: written.name,
    nextId: Math.max(core.nextId, written.nextId),
    vectorDim: written.vectorDim,
    state: 'ready',
  };
  await runWrite(
    db,
    ['meta'],
    `${WHAT}: finishing "${written.name}"`,
    async (tx) => {
      putValue(tx.objectStore('meta'), ready, 'bank');
    },
    { durability: 'strict' },
  );
}

/**
 * The file goes into a new database (a new generation of the bank, see directory.ts); once it is
 * complete the directory is switched to it in one transaction and the replaced bank is deleted.
 * Until the switch the old bank (with overwrite) is untouched; a failure deletes the new database.
 */
async function importLocked(r: ByteReader, fileMeta: BankMeta, blobs: number, name: string, opts: ImportOptions): Promise<void> {
  await sweepBank(name, dropDb);
  if (!opts.overwrite && (await bankDatabase(name)) !== null) {
    throw new BankExistsError(`${WHAT}: memory bank "${name}" already exists (pass { overwrite: true } to replace it)`, { bank: name });
  }
  const target = newGenerationName(name);
  const meta = startMeta(fileMeta, name);
  const { db } = await openBankDb(target, { create: true, initial: meta });
  try {
    const written = await parseBody(r, db, meta, blobs, opts.onProgress);
    await finalize(db, written, { ...fileMeta, name });
  } catch (e) {
    db.close();
    await dropDb(target);
    throw e;
  }
  db.close();
  await replaceBank(name, target);
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
