/**
 * Storage failures: IndexedDB's QuotaExceededError becomes StorageQuotaError, and a test hook lets a
 * test make a put fail the way Chromium does when the origin's quota is full (a DOMException named
 * QuotaExceededError raised inside the transaction, which the store then aborts).
 */
import { Memory3Error, StorageQuotaError } from '../../util/errors';

/**
 * Points between transactions where a test can stop a writer dead: after each committed write
 * transaction, and on either side of the directory switch that makes, replaces or deletes a bank.
 */
export type StoreCheckpoint = 'committed' | 'before-switch' | 'after-switch';

export interface StoreFaultHooks {
  /** Called before every put the bank store issues; throwing from it fails that put's transaction. */
  beforePut: ((storeName: string) => void) | null;
  /** Awaited at each checkpoint (`what`: the write or the bank); a promise that never settles stops the writer there. */
  checkpoint: ((point: StoreCheckpoint, what: string) => void | Promise<void>) | null;
}

/** Set only by tests (see test/helpers/memory-store.ts); null in production. */
export const storeFaultHooks: StoreFaultHooks = { beforePut: null, checkpoint: null };

export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || (name === 'UnknownError' && /quota|space/i.test(String((e as Error).message)));
}

/** Storage errors → named errors; named errors pass through unchanged. */
export function mapStorageError(e: unknown, what: string): Error {
  if (e instanceof Memory3Error) return e;
  if (isQuotaError(e)) {
    return new StorageQuotaError(`${what}: the browser's storage quota is exhausted; the write was rolled back (${String((e as Error).message)})`, { op: what });
  }
  return e instanceof Error ? e : new Error(`${what}: ${String(e)}`);
}
