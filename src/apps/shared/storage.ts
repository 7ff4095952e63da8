/** Storage quota and persistence (navigator.storage), shown so people know where their disk goes. */
export interface StorageReport {
  usage: number;
  quota: number;
  persisted: boolean | null;
}

/** Bytes for people: B, KiB, MiB or GiB. */
export function mib(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(i === 0 || b >= 100 ? 0 : 1)} ${units[i]}`;
}

export async function storageReport(): Promise<StorageReport | null> {
  if (!navigator.storage?.estimate) return null;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : null;
  return { usage, quota, persisted };
}

/** Asks the browser to keep this site's data under storage pressure; true when granted. */
export async function requestPersistence(): Promise<boolean> {
  return navigator.storage?.persist ? navigator.storage.persist() : false;
}

export function describeStorage(r: StorageReport | null): string {
  if (!r) return 'This browser does not report storage use.';
  const pct = r.quota > 0 ? ` (${((100 * r.usage) / r.quota).toFixed(1)}%)` : '';
  const kept =
    r.persisted === null
      ? ''
      : r.persisted
        ? ' · persistent: the browser will not evict it'
        : ' · not persistent: the browser may evict it under pressure';
  return `Storage: ${mib(r.usage)} used of ${mib(r.quota)}${pct}${kept}`;
}
