/**
 * The bank directory: which database holds each bank. One IndexedDB database, `memory3-banks`, with
 * a store `banks` of { name, db } entries and a store `retired` of databases that a switch replaced
 * and that are to be deleted. A bank's content lives in a database of its own (see schema.ts), named
 * `memory3-bank@<generation>:<name>`; a bank written before the directory existed (or by an older
 * version of this library in another tab) keeps its `memory3-bank:<name>` database and is entered
 * as it is the first time it is looked up.
 *
 * Every write that makes or replaces a bank fills a new database first and then switches the entry
 * in one transaction (the pointer), which also retires the database it replaced; only after that is
 * the old one deleted. So a crash at any point leaves the old bank or the new one, whole, never
 * neither. Generation databases no entry names and retired ones are what an interrupted write left
 * behind; sweeps remove them under the bank's lock (which a running write holds and a crashed
 * browser releases).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { storeFaultHooks } from './fault-hooks';
import { tryWithBankLock } from './locks';
import { BANK_PREFIX, dbNameOf } from './schema';

export const DIRECTORY_DB = 'memory3-banks';
export const GENERATION_PREFIX = 'memory3-bank@';

interface DirectoryEntry {
  name: string;
  db: string;
  updatedAt: number;
}
interface RetiredDb {
  db: string;
  bank: string;
  at: number;
}
interface DirectoryDB extends DBSchema {
  banks: { key: string; value: DirectoryEntry };
  retired: { key: string; value: RetiredDb };
}
type Directory = IDBPDatabase<DirectoryDB>;

let connection: Promise<Directory> | null = null;

function directory(): Promise<Directory> {
  if (!connection) {
    const opening: Promise<Directory> = openDB<DirectoryDB>(DIRECTORY_DB, 1, {
      upgrade(d) {
        d.createObjectStore('banks', { keyPath: 'name' });
        d.createObjectStore('retired', { keyPath: 'db' });
      },
      blocking() {
        void opening.then((db) => db.close());
        connection = null;
      },
      terminated() {
        connection = null;
      },
    });
    connection = opening;
    opening.catch(() => {
      connection = null;
    });
  }
  return connection;
}

/** A fresh database name for a new generation of `bank` (never reused). */
export function newGenerationName(bank: string): string {
  const gen = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0')}`;
  return `${GENERATION_PREFIX}${gen}:${bank}`;
}

/** The bank a generation database belongs to, or null. */
function bankOfGeneration(dbName: string): string | null {
  return /^memory3-bank@[0-9a-z]+:([\s\S]*)$/.exec(dbName)?.[1] ?? null;
}

/** The bank a database belongs to (a generation, or a pre-directory database), or null. */
export function bankOfDatabase(dbName: string): string | null {
  return bankOfGeneration(dbName) ?? (dbName.startsWith(BANK_PREFIX) ? dbName.slice(BANK_PREFIX.length) : null);
}

async function allDatabaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '');
}

/** Enters a pre-directory database as its bank, unless a switch retired it or the bank has an entry. */
async function adopt(banks: string[]): Promise<void> {
  if (!banks.length) return;
  const tx = (await directory()).transaction(['banks', 'retired'], 'readwrite');
  for (const bank of banks) {
    const [entry, retired] = await Promise.all([tx.objectStore('banks').get(bank), tx.objectStore('retired').get(dbNameOf(bank))]);
    if (!entry && !retired) void tx.objectStore('banks').put({ name: bank, db: dbNameOf(bank), updatedAt: Date.now() });
  }
  await tx.done;
}

/** The database that holds `bank`, or null when there is no such bank. */
export async function bankDatabase(bank: string): Promise<string | null> {
  const entry = await (await directory()).get('banks', bank);
  if (entry) return entry.db;
  if (!(await allDatabaseNames()).includes(dbNameOf(bank))) return null;
  await adopt([bank]);
  return (await (await directory()).get('banks', bank))?.db ?? null;
}

/** Every bank with its database. */
export async function allBanks(): Promise<DirectoryEntry[]> {
  const dir = await directory();
  const known = new Set(await dir.getAllKeys('banks'));
  await adopt(
    (await allDatabaseNames())
      .filter((n) => n.startsWith(BANK_PREFIX))
      .map((n) => n.slice(BANK_PREFIX.length))
      .filter((b) => !known.has(b)),
  );
  return dir.getAll('banks');
}

/**
 * Points `bank` at `db` (null removes the bank) in one durable transaction, retiring the database it
 * pointed at before, which it returns: the switch that makes a new generation the bank. The caller
 * holds the bank's lock and then deletes the retired database (or leaves it to a sweep).
 */
export async function pointBankAt(bank: string, db: string | null): Promise<string | null> {
  await storeFaultHooks.checkpoint?.('before-switch', bank);
  const tx = (await directory()).transaction(['banks', 'retired'], 'readwrite', { durability: 'strict' });
  const banks = tx.objectStore('banks');
  const before = (await banks.get(bank))?.db ?? null;
  if (db === null) void banks.delete(bank);
  else void banks.put({ name: bank, db, updatedAt: Date.now() });
  if (before !== null && before !== db) void tx.objectStore('retired').put({ db: before, bank, at: Date.now() });
  await tx.done;
  await storeFaultHooks.checkpoint?.('after-switch', bank);
  return before;
}

/**
 * Deletes what interrupted writes left of `bank`: retired databases and generations no entry names;
 * an entry whose database is gone is removed. Returns the deleted names. The caller holds the lock.
 */
export async function sweepBank(bank: string, drop: (dbName: string) => Promise<void>): Promise<string[]> {
  const dir = await directory();
  const names = new Set(await allDatabaseNames());
  const entry = await dir.get('banks', bank);
  if (entry && !names.has(entry.db)) await dir.delete('banks', bank);
  const retired = (await dir.getAll('retired')).filter((r) => r.bank === bank).map((r) => r.db);
  const stale = [...names].filter((n) => n !== entry?.db && (retired.includes(n) || bankOfGeneration(n) === bank));
  for (const n of stale) await drop(n);
  for (const n of retired) await dir.delete('retired', n);
  return stale;
}

/** Sweeps every bank that has leftovers and whose lock is free now (a bank being written is left to its writer). */
export async function sweepAll(drop: (dbName: string) => Promise<void>): Promise<void> {
  const dir = await directory();
  const named = new Set((await dir.getAll('banks')).map((e) => e.db));
  const banks = new Set((await dir.getAll('retired')).map((r) => r.bank));
  for (const n of await allDatabaseNames()) {
    const bank = bankOfGeneration(n);
    if (bank !== null && !named.has(n)) banks.add(bank);
  }
  for (const bank of banks) await tryWithBankLock(bank, () => sweepBank(bank, drop));
}
