/** Bank-level operations: create, open, list, delete, stats. */
import { BankNotFoundError } from '../../util/errors';
import { policyFingerprint } from '../policy';
import type { CodecSpec, MemoryShape } from '../types';
import { BankStore, dropDb, type OpenExpectations } from './bank-store';
import { withBankLock } from './locks';
import { allBanks, bankDatabase, pointBankAt, sweepAll, sweepBank } from './directory';
import { openBankDb, tmpDbNameOf, type BankCounts, type BankMetaCore, type NewBankMeta } from './schema';
import { checkBankName } from './validate';

export interface BankSummary {
  name: string;
  /** 'importing': an import by an older version of this library was interrupted; 'broken': no readable meta. */
  state: 'ready' | 'importing' | 'broken';
  createdAt: number;
  updatedAt: number;
  modelFingerprint: string;
  policyFingerprint: string;
  codec: CodecSpec | null;
  shape: MemoryShape | null;
  counts: BankCounts;
  bytes: number;
}

export interface BankStats extends BankSummary {
  vectorDim: number | null;
  documents: { done: number; partial: number };
  /** Mean stored bytes (payload + positions) per record. */
  bytesPerRecord: number;
  /** Origin-wide usage and quota from navigator.storage.estimate(), when available. */
  storage: { usage: number; quota: number } | null;
}

export function createBank(name: string, meta: NewBankMeta, opts: { overwrite?: boolean } = {}): Promise<BankStore> {
  return BankStore.create(name, meta, opts);
}

/** Opens a bank; a bank written by another model or policy → BankMismatchError naming both fingerprints. */
export function openBank(name: string, expect?: OpenExpectations): Promise<BankStore> {
  return BankStore.open(name, expect);
}

const zeroCounts = (): BankCounts => ({ references: 0, records: 0, vectors: 0, documents: 0 });

function summarize(name: string, m: BankMetaCore | undefined): BankSummary {
  if (!m?.counts) {
    return {
      name,
      state: 'broken',
      createdAt: 0,
      updatedAt: 0,
      modelFingerprint: '',
      policyFingerprint: '',
      codec: null,
      shape: null,
      counts: zeroCounts(),
      bytes: 0,
    };
  }
  return {
    name,
    state: m.state,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    modelFingerprint: m.modelFingerprint,
    policyFingerprint: policyFingerprint(m.policy),
    codec: m.codec,
    shape: m.shape,
    counts: { ...m.counts },
    bytes: m.bytes,
  };
}

async function readSummary(name: string, dbName: string | null): Promise<{ summary: BankSummary; core: BankMetaCore | undefined } | null> {
  if (dbName === null) return null;
  try {
    const { db } = await openBankDb(dbName);
    try {
      const core = (await db.get('meta', 'bank')) as BankMetaCore | undefined;
      return { summary: summarize(name, core), core };
    } finally {
      db.close();
    }
  } catch (e) {
    if (e instanceof BankNotFoundError) return null;
    return { summary: summarize(name, undefined), core: undefined };
  }
}

/** Every bank of this origin, by name. Leftovers of interrupted writes are removed on the way. */
export async function listBanks(): Promise<BankSummary[]> {
  await sweepAll(dropDb);
  const out: BankSummary[] = [];
  for (const { name, db } of (await allBanks()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const s = await readSummary(name, db);
    if (s) out.push(s.summary);
  }
  return out;
}

/** Deletes a bank: its directory entry goes first (one transaction), then its database (and an old version's temporary copy). */
export async function deleteBank(name: string): Promise<void> {
  checkBankName(name);
  await withBankLock(name, async () => {
    const before = (await bankDatabase(name)) === null ? null : await pointBankAt(name, null);
    await sweepBank(name, dropDb);
    await dropDb(tmpDbNameOf(name));
    if (before === null) throw new BankNotFoundError(`memory bank "${name}" does not exist`, { bank: name });
  });
}

export async function bankStats(name: string): Promise<BankStats> {
  checkBankName(name);
  const dbName = await bankDatabase(name);
  const found = await readSummary(name, dbName);
  if (!found || dbName === null) throw new BankNotFoundError(`memory bank "${name}" does not exist`, { bank: name });
  const documents = { done: 0, partial: 0 };
  const { db } = await openBankDb(dbName);
  try {
    let cursor = await db.transaction('documents', 'readonly').store.openCursor();
    while (cursor) {
      documents[cursor.value.status]++;
      cursor = await cursor.continue();
    }
  } finally {
    db.close();
  }
  const records = found.core?.counts.records ?? 0;
  const vectorBytes = (found.core?.counts.vectors ?? 0) * (found.core?.vectorDim ?? 0) * 4;
  let storage: BankStats['storage'] = null;
  const est = await globalThis.navigator?.storage?.estimate?.().catch(() => null);
  if (est) storage = { usage: est.usage ?? 0, quota: est.quota ?? 0 };
  return {
    ...found.summary,
    vectorDim: found.core?.vectorDim ?? null,
    documents,
    bytesPerRecord: records ? (found.summary.bytes - vectorBytes) / records : 0,
    storage,
  };
}
