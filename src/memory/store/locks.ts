/**
 * Per-bank locks through the Web Locks API: writers take the bank's lock exclusively, exporters take
 * it shared, so two tabs (or workers) never interleave multi-step writes to one bank. Where
 * navigator.locks is missing, an in-page queue gives the same ordering within one page.
 */

export type Release = () => void;
type LockMode = 'exclusive' | 'shared';

const lockName = (bank: string) => `memory3-bank-lock:${bank}`;
const localQueues = new Map<string, Promise<void>>();

function localAcquire(name: string): Promise<Release> {
  const prev = localQueues.get(name) ?? Promise.resolve();
  let release!: Release;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const tail = prev.then(() => held);
  localQueues.set(name, tail);
  void tail.then(() => {
    if (localQueues.get(name) === tail) localQueues.delete(name);
  });
  return prev.then(() => release);
}

/** Resolves once the lock is held; call the returned function to release it. */
export function acquireBankLock(bank: string, mode: LockMode = 'exclusive'): Promise<Release> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return localAcquire(lockName(bank));
  return new Promise<Release>((granted, refused) => {
    locks.request(lockName(bank), { mode }, () => new Promise<void>((release) => granted(() => release()))).catch(refused);
  });
}

/** Runs fn while holding the bank's lock. */
export async function withBankLock<T>(bank: string, fn: () => Promise<T>, mode: LockMode = 'exclusive'): Promise<T> {
  const release = await acquireBankLock(bank, mode);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Runs fn while holding the bank's lock if it is free now; returns null without running it when held. */
export async function tryWithBankLock<T>(bank: string, fn: () => Promise<T>): Promise<T | null> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return localQueues.has(lockName(bank)) ? null : withBankLock(bank, fn);
  return locks.request(lockName(bank), { mode: 'exclusive', ifAvailable: true }, async (lock) => (lock ? fn() : null));
}
