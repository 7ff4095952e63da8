/**
 * BankStore: one open memory bank (an IndexedDB database, see schema.ts). Writes take the bank's
 * Web Lock and run in one readwrite transaction that also updates the meta counts; reads verify
 * record checksums and report corrupt records instead of returning them.
 */
import { deleteDB } from 'idb';
import { BankExistsError, BankFormatError, BankMismatchError, BankNotFoundError } from '../../util/errors';
import { policyFingerprint } from '../policy';
import type { Reference } from '../types';
import { recordChecksum } from './crc32';
import { bankDatabase, newGenerationName, pointBankAt, sweepBank } from './directory';
import { withBankLock } from './locks';
import {
  deleteRows,
  putValue,
  readCore,
  readMeta,
  runWrite,
  tight,
  writeDocument,
  writeMeta,
  writeRows,
  type RowSet,
  type WriteTx,
} from './rows';
import {
  SCHEMA_VERSION,
  checkOpen,
  openBankDb,
  type BankDb,
  type BankMeta,
  type BankMetaCore,
  type DocumentRow,
  type NewBankMeta,
} from './schema';
import { checkBankName, checkBatch, checkNewMeta, type BatchItem, type DocumentUpdate } from './validate';

export interface OpenExpectations {
  modelFingerprint?: string;
  policyFingerprint?: string;
}
export interface StoredRecord {
  payload: Uint8Array;
  positions: Uint16Array;
}
export interface RecordsResult {
  records: Map<number, StoredRecord>;
  /** Ids whose stored checksum does not match their bytes (skipped). */
  corrupt: number[];
  /** Ids with no stored record. */
  missing: number[];
}
/** null deletes the value. */
export interface MetaPatch {
  codebooks?: Uint8Array | null;
  retrieverState?: unknown;
}

const allStores = ['meta', 'references', 'records', 'vectors', 'documents'] as const;

/** Deletes a database; our connections close themselves on versionchange, so this does not hang on them. */
export async function dropDb(dbName: string): Promise<void> {
  await deleteDB(dbName, {
    blocked() {
      /* other connections are closing (schema.ts blocking handler) */
    },
  });
}

/** Makes `dbName` (complete) the bank `name`, then deletes the database it replaces. Caller holds the lock. */
export async function replaceBank(name: string, dbName: string): Promise<void> {
  const before = await pointBankAt(name, dbName);
  if (before !== null && before !== dbName) await dropDb(before);
}

/** A connection to the bank's current database; a replacement racing the open is followed. */
async function openCurrent(name: string, onClosed: (reason: string) => void): Promise<BankDb> {
  for (let attempt = 0; ; attempt++) {
    const dbName = await bankDatabase(name);
    if (dbName === null) throw new BankNotFoundError(`memory bank database for "${name}" does not exist`, { bank: name });
    try {
      return (await openBankDb(dbName, { onClosed })).db;
    } catch (e) {
      if (!(e instanceof BankNotFoundError) || attempt >= 3 || (await bankDatabase(name)) === dbName) throw e;
    }
  }
}

/** Full meta of a new bank. */
export function initialMeta(name: string, m: NewBankMeta, now = Date.now()): BankMeta {
  const meta: BankMeta = {
    schemaVersion: SCHEMA_VERSION,
    name,
    createdAt: now,
    updatedAt: now,
    modelFingerprint: m.modelFingerprint,
    policy: m.policy,
    codec: m.codec,
    shape: m.shape,
    vectorDim: m.vectorDim ?? null,
    counts: { references: 0, records: 0, vectors: 0, documents: 0 },
    bytes: 0,
    nextId: 0,
    state: 'ready',
  };
  if (m.codebooks !== undefined) meta.codebooks = tight(m.codebooks);
  if (m.retrieverState !== undefined) meta.retrieverState = m.retrieverState;
  return meta;
}

export class BankStore {
  private closedReason: string | null = null;
  private db!: BankDb;
  private cached!: BankMeta;

  private constructor(readonly name: string) {}

  /** Opens a bank and checks it against expectations (BankMismatchError names both fingerprints). */
  static async open(name: string, expect: OpenExpectations = {}): Promise<BankStore> {
    checkBankName(name);
    const store = new BankStore(name);
    store.db = await openCurrent(name, (r) => {
      store.closedReason = r;
    });
    try {
      const tx = store.db.transaction('meta', 'readonly');
      store.cached = await readMeta(tx as never);
      checkMeta(name, store.cached, expect);
    } catch (e) {
      store.close();
      throw e;
    }
    return store;
  }

  /**
   * Creates a bank; an existing one is refused (BankExistsError) unless overwrite, which replaces it:
   * the empty bank is made in a new database and the directory switched to it (directory.ts).
   */
  static async create(name: string, meta: NewBankMeta, opts: { overwrite?: boolean } = {}): Promise<BankStore> {
    checkBankName(name);
    checkNewMeta(name, meta);
    const full = initialMeta(name, meta);
    await withBankLock(name, async () => {
      await sweepBank(name, dropDb);
      if (!opts.overwrite && (await bankDatabase(name)) !== null) {
        throw new BankExistsError(`memory bank "${name}" already exists (pass { overwrite: true } to replace it)`, { bank: name });
      }
      const dbName = newGenerationName(name);
      const { db } = await openBankDb(dbName, { create: true, initial: full });
      db.close();
      await replaceBank(name, dbName);
    });
    return BankStore.open(name);
  }

  /** The bank's meta as of this connection's last read or write (refresh() re-reads it). */
  get meta(): BankMeta {
    return this.cached;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  async refresh(): Promise<BankMeta> {
    checkOpen(this.closedReason, this.name);
    this.cached = await readMeta(this.db.transaction('meta', 'readonly') as never);
    return this.cached;
  }

  /**
   * Stores references with their records and vectors, and optionally a document's progress, in ONE
   * transaction: all or nothing. Returns the ids, in item order (assigned where an item had none).
   * An item whose id is already stored replaces that reference, record and vector.
   */
  async putBatch(items: BatchItem[], doc?: DocumentUpdate): Promise<number[]> {
    checkOpen(this.closedReason, this.name);
    checkBatch(this.cached, items, doc);
    const prepared = items.map((it) => ({
      it,
      rec: it.record && { payload: tight(it.record.payload), positions: tight(it.record.positions) },
    }));
    const sums = prepared.map((p) => p.rec && recordChecksum(p.rec.payload, p.rec.positions));
    return this.writeWithMeta('putBatch', async (tx, meta) => {
      const explicit = items.filter((i) => i.reference.id !== undefined).map((i) => i.reference.id as number);
      let next = Math.max(meta.nextId, ...explicit.map((id) => id + 1));
      const rows: RowSet[] = prepared.map(({ it, rec }, i) => {
        const r = it.reference;
        const id = r.id ?? next++;
        const reference: Reference = { id, source: r.source, text: r.text, start: r.start, end: r.end, tokenCount: r.tokenCount };
        if (r.tokens !== undefined) reference.tokens = [...r.tokens];
        const row: RowSet = { reference };
        if (rec) row.record = { id, payload: rec.payload, positions: rec.positions, checksum: sums[i]! };
        if (it.vector) row.vector = { id, vector: tight(it.vector) };
        return row;
      });
      await writeRows(tx, meta, rows);
      if (doc) await this.updateDocument(tx, meta, doc, rows);
      return rows.map((r) => r.reference.id);
    });
  }

  private async updateDocument(tx: WriteTx, meta: BankMetaCore, doc: DocumentUpdate, rows: RowSet[]): Promise<void> {
    const old = await tx.objectStore('documents').get(doc.source);
    const keep = old && old.hash === doc.hash ? old.referenceIds : [];
    const mine = rows.filter((r) => r.reference.source === doc.source).map((r) => r.reference.id);
    const referenceIds = [...new Set([...keep, ...mine])].sort((a, b) => a - b);
    writeDocument(
      tx,
      meta,
      { source: doc.source, status: doc.status, referenceIds, hash: doc.hash, updatedAt: Date.now() },
      old !== undefined,
    );
  }

  /** Runs a write that ends with the core meta `fn` returns; caches that meta once committed. */
  private async writeWithMeta<T>(what: string, fn: (tx: WriteTx, meta: BankMetaCore) => Promise<T>): Promise<T> {
    checkOpen(this.closedReason, this.name);
    const [result, core] = await withBankLock(this.name, () =>
      runWrite(this.db, [...allStores], `${what} (bank "${this.name}")`, async (tx) => {
        const meta = await readCore(tx);
        const r = await fn(tx, meta);
        meta.updatedAt = Date.now();
        putValue(tx.objectStore('meta'), meta, 'bank');
        return [r, meta] as const;
      }),
    );
    this.cached = { ...this.cached, ...core };
    return result;
  }

  /** Records by id; a record whose checksum does not match is reported in `corrupt` and skipped. */
  async getRecords(ids: number[]): Promise<RecordsResult> {
    checkOpen(this.closedReason, this.name);
    const store = this.db.transaction('records', 'readonly').store;
    const rows = await Promise.all(ids.map((id) => store.get(id)));
    const out: RecordsResult = { records: new Map(), corrupt: [], missing: [] };
    rows.forEach((row, i) => {
      if (!row) out.missing.push(ids[i]);
      else if (
        !(row.payload instanceof Uint8Array) ||
        !(row.positions instanceof Uint16Array) ||
        recordChecksum(row.payload, row.positions) !== row.checksum
      )
        out.corrupt.push(ids[i]);
      else out.records.set(row.id, { payload: row.payload, positions: row.positions });
    });
    return out;
  }

  /** References by id (absent ids are absent from the map). */
  async getReferences(ids: number[]): Promise<Map<number, Reference>> {
    checkOpen(this.closedReason, this.name);
    const store = this.db.transaction('references', 'readonly').store;
    const rows = await Promise.all(ids.map((id) => store.get(id)));
    return new Map(rows.filter((r): r is Reference => !!r).map((r) => [r.id, r]));
  }

  /** Every stored reference id, ascending. */
  async referenceIds(): Promise<number[]> {
    checkOpen(this.closedReason, this.name);
    return this.db.getAllKeys('references');
  }

  /** Every reference cut from one source document, by id (uses the `source` index). */
  async referencesBySource(source: string): Promise<Reference[]> {
    checkOpen(this.closedReason, this.name);
    return this.db.getAllFromIndex('references', 'source', source);
  }

  /** Every retrieval vector, ascending id (for building an index). */
  async allVectors(): Promise<{ ids: number[]; vectors: Float32Array[] }> {
    checkOpen(this.closedReason, this.name);
    const rows = await this.db.getAll('vectors');
    return { ids: rows.map((r) => r.id), vectors: rows.map((r) => r.vector) };
  }

  /** What the writer recorded for a source document (undefined: never started). */
  async documentStatus(source: string): Promise<DocumentRow | undefined> {
    checkOpen(this.closedReason, this.name);
    return this.db.get('documents', source);
  }

  /** Removes a document's row and every reference (with record and vector) cut from it. */
  async deleteDocument(source: string): Promise<void> {
    await this.writeWithMeta('deleteDocument', async (tx, meta) => {
      const doc = await tx.objectStore('documents').get(source);
      const ids = await tx.objectStore('references').index('source').getAllKeys(source);
      await deleteRows(tx, meta, [...new Set([...ids, ...(doc?.referenceIds ?? [])])]);
      if (doc) {
        meta.counts.documents--;
        void tx
          .objectStore('documents')
          .delete(source)
          .catch(() => {});
      }
    });
  }

  /** Replaces the opaque codebooks and/or retriever state (null deletes one). */
  async updateMeta(patch: MetaPatch): Promise<BankMeta> {
    checkOpen(this.closedReason, this.name);
    await withBankLock(this.name, () =>
      runWrite(this.db, ['meta'], `updateMeta of bank "${this.name}"`, async (tx) => {
        const meta = await readMeta(tx);
        if (patch.codebooks !== undefined) {
          if (patch.codebooks === null) delete meta.codebooks;
          else meta.codebooks = tight(patch.codebooks);
        }
        if (patch.retrieverState !== undefined) {
          if (patch.retrieverState === null) delete meta.retrieverState;
          else meta.retrieverState = patch.retrieverState;
        }
        meta.updatedAt = Date.now();
        writeMeta(tx, meta, true);
      }),
    );
    return this.refresh();
  }

  close(): void {
    if (!this.closedReason) this.closedReason = 'close() was called';
    this.db?.close();
  }
}

function checkMeta(name: string, meta: BankMeta | undefined, expect: OpenExpectations): void {
  if (!meta?.counts)
    throw new BankFormatError(`memory bank "${name}" has no meta record (not a bank, or its creation was interrupted)`, { bank: name });
  if (meta.schemaVersion > SCHEMA_VERSION)
    throw new BankFormatError(
      `memory bank "${name}" has schema version ${meta.schemaVersion}; this library reads up to ${SCHEMA_VERSION}`,
      { bank: name },
    );
  if (meta.state !== 'ready')
    throw new BankFormatError(
      `memory bank "${name}" is incomplete (an import was interrupted); delete it or import it again with { overwrite: true }`,
      { bank: name },
    );
  const problems: string[] = [];
  const details: Record<string, unknown> = { bank: name };
  if (expect.modelFingerprint !== undefined && expect.modelFingerprint !== meta.modelFingerprint) {
    problems.push(`model fingerprint ${meta.modelFingerprint} (expected ${expect.modelFingerprint})`);
    Object.assign(details, { bankModel: meta.modelFingerprint, expectedModel: expect.modelFingerprint });
  }
  const policy = policyFingerprint(meta.policy);
  if (expect.policyFingerprint !== undefined && expect.policyFingerprint !== policy) {
    problems.push(`policy fingerprint ${policy} (expected ${expect.policyFingerprint})`);
    Object.assign(details, { bankPolicy: policy, expectedPolicy: expect.policyFingerprint });
  }
  if (problems.length) throw new BankMismatchError(`memory bank "${name}" was written with ${problems.join(' and ')}`, details);
}
