/**
 * The IndexedDB layout of a memory bank. One bank = one database, which the bank directory
 * (directory.ts) names: `memory3-bank@<generation>:<name>`, or `memory3-bank:<name>` for a bank
 * written before the directory existed (whose overwriting imports went through
 * `memory3-bank-tmp:<name>`). Version DB_VERSION, with stores:
 *   meta        key 'bank' → BankMetaCore (counts and bytes updated in every write transaction);
 *               key 'codebooks' → Uint8Array, key 'retriever' → opaque retriever state. The two large
 *               opaque values live under their own keys so a write batch never rewrites them.
 *   references  Reference, keyPath 'id' (non-negative integers), index 'source'
 *   records     RecordRow { id, payload (codec bytes), positions, checksum = CRC-32(payload ‖ positions) }
 *   vectors     VectorRow { id, vector } retrieval embeddings (optional)
 *   documents   DocumentRow, keyPath 'source': which references of a source document are stored
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { BankClosedError, BankFormatError, BankNotFoundError } from '../../util/errors';
import { isQuotaError } from './storage-errors';
import type { CodecSpec, MemoryPolicy, MemoryShape, Reference } from '../types';

export const DB_VERSION = 1;
/** Version of the objects stored (BankMeta and rows); written into meta.schemaVersion. */
export const SCHEMA_VERSION = 1;
/** Database names of banks written before the directory existed, and of their temporary import copies. */
export const BANK_PREFIX = 'memory3-bank:';
export const TMP_PREFIX = 'memory3-bank-tmp:';
export const dbNameOf = (bank: string) => BANK_PREFIX + bank;
export const tmpDbNameOf = (bank: string) => TMP_PREFIX + bank;

export interface BankCounts {
  references: number;
  records: number;
  vectors: number;
  documents: number;
}

/** The meta record without the two large opaque values. */
export interface BankMetaCore {
  schemaVersion: number;
  name: string;
  createdAt: number; // ms since epoch
  updatedAt: number;
  /** Derived by the engine from model config + weights; opaque here. */
  modelFingerprint: string;
  policy: MemoryPolicy;
  codec: CodecSpec;
  shape: MemoryShape;
  /** Length of every retrieval vector; null until the first vector is stored. */
  vectorDim: number | null;
  counts: BankCounts;
  /** Stored memory bytes: record payloads + positions + vectors. */
  bytes: number;
  /** Next id handed out to a reference put without one (always > every stored id). */
  nextId: number;
  /** 'importing' while an import or overwrite copy is under way; such a bank cannot be opened. */
  state: 'ready' | 'importing';
}

export interface BankMeta extends BankMetaCore {
  /** PQ codebooks serialized by the codec module (opaque). */
  codebooks?: Uint8Array;
  /** Retriever state, e.g. a serialized lexical index (opaque; structured-cloneable: JSON or typed arrays). */
  retrieverState?: unknown;
}

export interface NewBankMeta {
  modelFingerprint: string;
  policy: MemoryPolicy;
  codec: CodecSpec;
  shape: MemoryShape;
  vectorDim?: number | null;
  codebooks?: Uint8Array;
  retrieverState?: unknown;
}

export interface RecordRow {
  id: number;
  payload: Uint8Array;
  positions: Uint16Array;
  checksum: number;
}
export interface VectorRow {
  id: number;
  vector: Float32Array;
}
export type DocumentStatus = 'done' | 'partial';
export interface DocumentRow {
  source: string;
  status: DocumentStatus;
  /** Ids of the references stored for this document, ascending. */
  referenceIds: number[];
  /** The caller's hash of the document text (a changed hash restarts the list). */
  hash: string;
  updatedAt: number;
}

export interface BankDB extends DBSchema {
  meta: { key: string; value: unknown };
  references: { key: number; value: Reference; indexes: { source: string } };
  records: { key: number; value: RecordRow };
  vectors: { key: number; value: VectorRow };
  documents: { key: string; value: DocumentRow };
}

export type BankDb = IDBPDatabase<BankDB>;
export const dataStores = ['references', 'records', 'vectors', 'documents'] as const;
export type DataStore = (typeof dataStores)[number];

export interface OpenHooks {
  /** Create the database if missing (else a missing bank → BankNotFoundError). */
  create?: boolean;
  /** With create: the meta written in the creating (upgrade) transaction, so a bank never exists without it. */
  initial?: BankMeta;
  /** Called when another connection wants to delete or upgrade the database; the connection is closed first. */
  onClosed?: (reason: string) => void;
}

/**
 * Opens (or creates) a bank database. Every connection closes itself on `versionchange`, so
 * deleteBank and future upgrades never hang on an idle tab.
 */
export async function openBankDb(dbName: string, hooks: OpenHooks = {}): Promise<{ db: BankDb; created: boolean }> {
  let created = false;
  let db: BankDb;
  let upgradeError: unknown = null;
  try {
    db = await openDB<BankDB>(dbName, DB_VERSION, {
      upgrade(d, oldVersion, _newVersion, tx) {
        if (oldVersion === 0 && !hooks.create) {
          tx.done.catch(() => {});
          tx.abort();
          return;
        }
        // A creation that fails to commit (the initial meta past the quota) fails the open with a bare
        // AbortError; the transaction's own error says why.
        tx.done.catch((err) => {
          upgradeError = err;
        });
        created = oldVersion === 0;
        const metaStore = d.createObjectStore('meta');
        d.createObjectStore('references', { keyPath: 'id' }).createIndex('source', 'source');
        d.createObjectStore('records', { keyPath: 'id' });
        d.createObjectStore('vectors', { keyPath: 'id' });
        d.createObjectStore('documents', { keyPath: 'source' });
        if (hooks.initial) {
          const { codebooks, retrieverState, ...core } = hooks.initial;
          void metaStore.put(core, 'bank');
          if (codebooks !== undefined) void metaStore.put(codebooks, 'codebooks');
          if (retrieverState !== undefined) void metaStore.put(retrieverState, 'retriever');
        }
      },
      blocking() {
        db?.close();
        hooks.onClosed?.('the database is being deleted or upgraded by another connection');
      },
      terminated() {
        hooks.onClosed?.('the browser closed the database connection');
      },
    });
  } catch (e) {
    const name = (e as DOMException).name;
    if (name === 'AbortError' && !hooks.create)
      throw new BankNotFoundError(`memory bank database ${dbName} does not exist`, { db: dbName });
    if (name === 'VersionError')
      throw new BankFormatError(`memory bank database ${dbName} was written by a newer version of this library (ours: ${DB_VERSION})`, {
        db: dbName,
      });
    if (hooks.create && isQuotaError(upgradeError ?? (e as Error & { cause?: unknown }).cause)) throw upgradeError;
    throw e;
  }
  return { db, created };
}

export function checkOpen(closedReason: string | null, bank: string): void {
  if (closedReason) throw new BankClosedError(`memory bank "${bank}" is closed: ${closedReason}`, { bank });
}
