/**
 * No window that loses a bank: a writer stopped dead (its worker terminated: no catch or finally
 * runs, open transactions abort) at many points of an overwriting import, a fresh import, an
 * overwriting create, a delete and a run of document batches. Afterwards every bank passes the full
 * consistency check and holds the old contents or the new, never neither; leftovers are swept.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initialMeta } from '../../src/memory/store/bank-store';
import { createBank, dbNameOf, deleteBank, exportBank, listBanks, openBank } from '../../src/memory/store/index';
import { openBankDb } from '../../src/memory/store/schema';
import { BankNotFoundError } from '../../src/util/errors';
import type { CrashJob, CrashReply } from '../helpers/bank-crash-worker';
import { bankDatabases, checkBank, currentDb, makeItems, readAll, testMeta, uniqueBankName } from '../helpers/memory-store';

type Raw = Awaited<ReturnType<typeof checkBank>>;

/** Runs a job in a fresh worker; terminates it once it froze at its fault point (or finished). */
async function crashAt(job: CrashJob): Promise<string> {
  const worker = new Worker(new URL('../helpers/bank-crash-worker.ts', import.meta.url), { type: 'module' });
  try {
    const reply = await new Promise<CrashReply>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`crash worker failed: ${e.message}`));
      worker.postMessage(job);
    });
    if ('error' in reply) throw new Error(`the writer failed before its fault point: ${reply.error}`);
    return 'frozen' in reply ? reply.frozen : 'finished';
  } finally {
    worker.terminate();
    await locksReleased(job.name);
  }
}

/** The browser releases a terminated worker's Web Locks a little later, as it does a crashed tab's. */
async function locksReleased(bank: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { held = [] } = await navigator.locks.query();
    if (!held.some((l) => l.name === `memory3-bank-lock:${bank}`)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the lock of bank ${bank} was never released`);
}

/** Contents without what legitimately differs between two copies of a bank (name, timestamps). */
function essence(raw: Raw) {
  const { name: _n, createdAt: _c, updatedAt: _u, ...meta } = raw.meta;
  const docs = raw.documents.map(({ updatedAt: _d, ...d }) => d);
  return { meta, references: raw.references, records: raw.records, vectors: raw.vectors, documents: docs };
}

async function settled(name: string): Promise<Raw | null> {
  await listBanks(); // sweeps what the dead writer left behind
  const inDirectory = (await listBanks()).some((b) => b.name === name);
  const dbs = await bankDatabases(name);
  if (!inDirectory) {
    expect(dbs, `no database of a bank that does not exist: ${name}`).toEqual([]);
    return null;
  }
  expect(dbs).toEqual([await currentDb(name)]);
  return checkBank(name);
}

const made: string[] = [];
const track = (n: string) => {
  made.push(n);
  return n;
};
const oldName = uniqueBankName('crash-old'),
  newName = uniqueBankName('crash-new');
let file: Blob;
let oldRaw: Raw, newRaw: Raw;

/** A bank with the "old" contents under `name`. */
async function makeOld(name: string): Promise<void> {
  const s = await createBank(name, testMeta({ modelFingerprint: 'model-old' }));
  await s.putBatch(makeItems(71, 30, 'old-doc'), { source: 'old-doc', status: 'done', hash: 'o' });
  s.close();
}

beforeAll(async () => {
  await makeOld(oldName);
  oldRaw = await checkBank(oldName);
  const s = await createBank(newName, testMeta({ modelFingerprint: 'model-new' }));
  for (let b = 0; b < 3; b++) await s.putBatch(makeItems(300 + b, 200, `new-${b}`), { source: `new-${b}`, status: 'done', hash: `n${b}` });
  s.close();
  newRaw = await checkBank(newName);
  file = new Blob([await readAll(exportBank(newName))]);
});
afterAll(async () => {
  for (const n of [oldName, newName, ...made]) await deleteBank(n).catch(() => {});
});

const isOld = (raw: Raw) => raw.meta.modelFingerprint === 'model-old';

describe('a writer killed at any point leaves the old bank or the new one, whole', () => {
  // The import writes the file's 600 references and 3 documents in 3 transactions (256 items each)
  // and then finishes the meta in a fourth; the old code then deleted the old bank and copied the
  // new one in, 3 more transactions of about 1,800 puts. Commit points stop the writer between
  // transactions, put points inside one (each of those costs Chromium 2 s to stop the spinning thread).
  const points: CrashJob['at'][] = [
    { commit: 1 },
    { commit: 2 },
    { commit: 3 },
    { commit: 4 },
    { commit: 5 },
    { commit: 6 },
    { commit: 7 },
    { put: 700 },
    { put: 2500 },
    { checkpoint: 'before-switch' },
    { checkpoint: 'after-switch' },
  ];

  test('overwriting import', async () => {
    const outcomes: string[] = [];
    for (const at of points) {
      const name = track(uniqueBankName('crash-overwrite'));
      await makeOld(name);
      const where = await crashAt({ op: 'import', name, file, overwrite: true, at });
      const raw = await settled(name);
      expect(raw, `the bank survives a crash at ${where}`).not.toBeNull();
      expect(essence(raw!), `crash at ${where}`).toEqual(essence(isOld(raw!) ? oldRaw : newRaw));
      if (at.checkpoint === 'before-switch') expect(isOld(raw!)).toBe(true);
      if (at.checkpoint === 'after-switch') expect(isOld(raw!)).toBe(false);
      outcomes.push(`${where}: ${isOld(raw!) ? 'old' : 'new'}`);
    }
    expect(outcomes.filter((o) => o.endsWith('old')).length, outcomes.join(', ')).toBeGreaterThan(3);
  });

  test('import under a new name', async () => {
    const fresh: CrashJob['at'][] = [
      { commit: 1 },
      { commit: 3 },
      { put: 900 },
      { checkpoint: 'before-switch' },
      { checkpoint: 'after-switch' },
    ];
    for (const at of fresh) {
      const name = track(uniqueBankName('crash-fresh'));
      const where = await crashAt({ op: 'import', name, file, overwrite: false, at });
      const raw = await settled(name);
      if (at.checkpoint === 'after-switch') expect(raw, where).not.toBeNull();
      if (raw) expect(essence(raw), where).toEqual(essence(newRaw));
      else expect((await listBanks()).map((b) => b.name)).not.toContain(name);
    }
  });

  test('overwriting create and delete', async () => {
    for (const checkpoint of ['before-switch', 'after-switch'] as const) {
      const name = track(uniqueBankName('crash-create'));
      await makeOld(name);
      await crashAt({ op: 'create', name, overwrite: true, at: { checkpoint } });
      const raw = (await settled(name))!;
      if (checkpoint === 'before-switch') expect(essence(raw)).toEqual(essence(oldRaw));
      else expect([raw.meta.modelFingerprint, raw.references.length]).toEqual(['model-created', 0]);
      const gone = track(uniqueBankName('crash-delete'));
      await makeOld(gone);
      await crashAt({ op: 'delete', name: gone, at: { checkpoint } });
      const left = await settled(gone);
      if (checkpoint === 'before-switch') expect(essence(left!)).toEqual(essence(oldRaw));
      else expect(left).toBeNull();
    }
  });

  test('a run of document batches: whole batches only, and the bank takes more afterwards', async () => {
    for (const at of [{ commit: 1 }, { commit: 3 }, { commit: 5 }, { put: 40 }] as CrashJob['at'][]) {
      const name = track(uniqueBankName('crash-batches'));
      (await createBank(name, testMeta())).close();
      const where = await crashAt({ op: 'putBatches', name, batches: 8, perBatch: 4, source: 'doc', at });
      const raw = (await settled(name))!;
      expect(raw.references.length % 4, `whole batches only after a crash at ${where}`).toBe(0);
      const doc = raw.documents.find((d) => d.source === 'doc');
      expect(doc?.referenceIds.length ?? 0).toBe(raw.references.length);
      const store = await openBank(name);
      await store.putBatch(makeItems(5, 4, 'doc'), { source: 'doc', status: 'done', hash: 'h' });
      store.close();
      const after = await checkBank(name);
      expect(after.references.length).toBe(raw.references.length + 4);
      expect(new Set(after.references.map((r) => r.id)).size).toBe(after.references.length);
    }
  });

  test('a bank from before the directory is adopted, and a crash after replacing it never brings it back', async () => {
    const name = track(uniqueBankName('crash-legacy'));
    const legacy = dbNameOf(name);
    const { db } = await openBankDb(legacy, { create: true, initial: initialMeta(name, testMeta({ modelFingerprint: 'model-legacy' })) });
    db.close();
    expect((await listBanks()).find((b) => b.name === name)?.modelFingerprint).toBe('model-legacy');
    expect(await currentDb(name)).toBe(legacy);
    expect(await crashAt({ op: 'import', name, file, overwrite: true, at: { checkpoint: 'after-switch' } })).toBe('after-switch');
    const raw = (await settled(name))!;
    expect(essence(raw)).toEqual(essence(newRaw));
    expect(await bankDatabases(name)).not.toContain(legacy);
    await crashAt({ op: 'delete', name, at: { checkpoint: 'after-switch' } });
    expect(await settled(name)).toBeNull();
    expect(await openBank(name).catch((e) => e)).toBeInstanceOf(BankNotFoundError);
  });
});
