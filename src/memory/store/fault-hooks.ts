/**
 * Test-only fault hooks: a test can make a put fail the way Chromium does when the origin's quota
 * is full (a DOMException named QuotaExceededError raised inside the transaction, which the store
 * then aborts), or stop a writer dead between transactions. Null in production; the mapping of
 * real storage errors lives in storage-errors.ts.
 */

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
