/** The memory bank store: banks of references and memory records in IndexedDB (see schema.ts, container.ts). */
export { BankStore, type MetaPatch, type OpenExpectations, type RecordsResult, type StoredRecord } from './bank-store';
export { bankStats, createBank, deleteBank, listBanks, openBank, type BankStats, type BankSummary } from './banks';
export { exportBank } from './export';
export { importBank, type ImportOptions, type ImportProgress } from './import';
export { crc32, recordChecksum } from './crc32';
export { bankDatabase, DIRECTORY_DB } from './directory';
export { storeFaultHooks, type StoreCheckpoint, type StoreFaultHooks } from './fault-hooks';
export {
  BANK_PREFIX,
  DB_VERSION,
  SCHEMA_VERSION,
  dbNameOf,
  type BankCounts,
  type BankMeta,
  type BankMetaCore,
  type DocumentRow,
  type DocumentStatus,
  type NewBankMeta,
  type RecordRow,
  type VectorRow,
} from './schema';
export type { BatchItem, DocumentUpdate, NewReference } from './validate';
