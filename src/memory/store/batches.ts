/** Reading a bank in id order, a bounded batch at a time (export and the overwrite copy). */
import type { RowSet } from './rows';
import type { BankDb, DocumentRow } from './schema';

/** Up to `limit` references with id > afterId, each with its record and vector; [] when done. */
export async function readRowBatch(db: BankDb, afterId: number, limit: number): Promise<RowSet[]> {
  const tx = db.transaction(['references', 'records', 'vectors'], 'readonly');
  const refs = await tx.objectStore('references').getAll(IDBKeyRange.lowerBound(afterId, true), limit);
  if (!refs.length) return [];
  const range = IDBKeyRange.bound(refs[0].id, refs[refs.length - 1].id);
  const [records, vectors] = await Promise.all([tx.objectStore('records').getAll(range), tx.objectStore('vectors').getAll(range)]);
  const recordById = new Map(records.map((r) => [r.id, r]));
  const vectorById = new Map(vectors.map((v) => [v.id, v]));
  return refs.map((reference) => {
    const row: RowSet = { reference };
    const record = recordById.get(reference.id);
    const vector = vectorById.get(reference.id);
    if (record) row.record = record;
    if (vector) row.vector = vector;
    return row;
  });
}

/** Up to `limit` document rows with source > after (null: from the first); [] when done. */
export async function readDocBatch(db: BankDb, after: string | null, limit: number): Promise<DocumentRow[]> {
  const range = after === null ? null : IDBKeyRange.lowerBound(after, true);
  return db.getAll('documents', range, limit);
}
