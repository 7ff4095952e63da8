/**
 * Storage failures in production: IndexedDB's QuotaExceededError (or Chromium's quota UnknownError)
 * becomes StorageQuotaError; other named errors pass through. Test fault hooks: fault-hooks.ts.
 */
import { Memory3Error, StorageQuotaError } from '../../util/errors';

/** A quota failure as IndexedDB reports it: QuotaExceededError, or Chromium's UnknownError about quota or space. */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || (name === 'UnknownError' && /quota|space/i.test(String((e as Error).message)));
}

/** Storage errors → named errors; named errors pass through unchanged. */
export function mapStorageError(e: unknown, what: string): Error {
  if (e instanceof Memory3Error) return e;
  if (isQuotaError(e)) {
    return new StorageQuotaError(
      `${what}: the browser's storage quota is exhausted; the write was rolled back (${String((e as Error).message)})`,
      { op: what },
    );
  }
  return e instanceof Error ? e : new Error(`${what}: ${String(e)}`);
}
