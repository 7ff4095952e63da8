/**
 * exportBank: the bank as one streamed file (format in container.ts). Holds the bank's lock in
 * shared mode while streaming, so no writer changes it mid-file; reads a bounded batch per pull.
 */
import { BankFormatError, BankNotFoundError } from '../../util/errors';
import { bytesOf } from './crc32';
import { readDocBatch, readRowBatch } from './batches';
import { FORMAT_VERSION, Frame, FrameWriter, MAGIC, extractBlobs, jsonBytes, u32s } from './container';
import { mapStorageError } from './storage-errors';
import { acquireBankLock, type Release } from './locks';
import type { RowSet } from './rows';
import { readMeta } from './rows';
import { bankDatabase } from './directory';
import { openBankDb, type BankDb, type BankMeta } from './schema';
import { checkBankName } from './validate';

const BATCH = 256;

interface ExportState {
  db: BankDb;
  release: Release;
  meta: BankMeta;
  phase: 'rows' | 'documents' | 'done';
  lastId: number;
  lastSource: string | null;
  counts: { blobs: number; references: number; records: number; vectors: number; documents: number };
}

function rowFrames(w: FrameWriter, row: RowSet, s: ExportState): void {
  const id = row.reference.id;
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff)
    throw new BankFormatError(`exportBank: reference id ${id} does not fit the file's u32 ids`);
  w.frame(Frame.reference, [jsonBytes(row.reference)]);
  s.counts.references++;
  if (row.record) {
    const { payload, positions, checksum } = row.record;
    if (!(payload instanceof Uint8Array) || !(positions instanceof Uint16Array))
      throw new BankFormatError(`exportBank: record ${id} is not bytes + positions`, { id });
    w.frame(Frame.record, [u32s(id, checksum >>> 0, payload.byteLength), payload, bytesOf(positions)]);
    s.counts.records++;
  }
  if (row.vector) {
    w.frame(Frame.vector, [u32s(id), bytesOf(row.vector.vector)]);
    s.counts.vectors++;
  }
}

function preamble(w: FrameWriter, s: ExportState): void {
  w.raw(MAGIC);
  w.raw(u32s(FORMAT_VERSION));
  const blobs: Uint8Array[] = [];
  const meta = extractBlobs(s.meta, blobs);
  w.frame(Frame.header, [jsonBytes({ format: 'memory3-bank', meta, blobs: blobs.length })]);
  for (const b of blobs) w.frame(Frame.blob, [b]);
  s.counts.blobs = blobs.length;
}

function trailer(w: FrameWriter, s: ExportState): void {
  const c = s.counts;
  const m = s.meta.counts;
  if (c.references !== m.references || c.records !== m.records || c.vectors !== m.vectors || c.documents !== m.documents) {
    throw new BankFormatError(
      `exportBank("${s.meta.name}"): the bank's meta counts ${JSON.stringify(m)} disagree with its content ${JSON.stringify(c)}`,
    );
  }
  w.frame(Frame.trailer, [u32s(c.blobs, c.references, c.records, c.vectors, c.documents, w.fileCrc)]);
}

/** Appends the next batch of frames; returns false once the file is complete. */
async function step(w: FrameWriter, s: ExportState): Promise<void> {
  if (s.phase === 'rows') {
    const rows = await readRowBatch(s.db, s.lastId, BATCH);
    for (const row of rows) rowFrames(w, row, s);
    if (rows.length) s.lastId = rows[rows.length - 1].reference.id;
    else s.phase = 'documents';
  } else if (s.phase === 'documents') {
    const docs = await readDocBatch(s.db, s.lastSource, BATCH);
    for (const d of docs) w.frame(Frame.document, [jsonBytes(d)]);
    s.counts.documents += docs.length;
    if (docs.length) s.lastSource = docs[docs.length - 1].source;
    else {
      trailer(w, s);
      s.phase = 'done';
    }
  }
}

async function begin(name: string): Promise<ExportState> {
  checkBankName(name);
  const release = await acquireBankLock(name, 'shared');
  try {
    const dbName = await bankDatabase(name);
    if (dbName === null) throw new BankNotFoundError(`exportBank: memory bank "${name}" does not exist`, { bank: name });
    const { db } = await openBankDb(dbName);
    const meta = await readMeta(db.transaction('meta', 'readonly') as never);
    if (!meta.counts || meta.state !== 'ready') {
      db.close();
      throw new BankFormatError(`exportBank: memory bank "${name}" is incomplete`, { bank: name });
    }
    return {
      db,
      release,
      meta,
      phase: 'rows',
      lastId: -1,
      lastSource: null,
      counts: { blobs: 0, references: 0, records: 0, vectors: 0, documents: 0 },
    };
  } catch (e) {
    release();
    throw e instanceof BankNotFoundError ? new BankNotFoundError(`exportBank: memory bank "${name}" does not exist`, { bank: name }) : e;
  }
}

/** The bank as one file, streamed (a batch of ~256 references per chunk). Errors surface on the stream. */
export function exportBank(name: string): ReadableStream<Uint8Array> {
  let s: ExportState | null = null;
  const w = new FrameWriter();
  const finish = () => {
    if (s) {
      s.db.close();
      s.release();
      s = null;
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!s) {
            s = await begin(name);
            preamble(w, s);
          }
          while (w.pending === 0 && s.phase !== 'done') await step(w, s);
          if (w.pending) controller.enqueue(w.take());
          if (s.phase === 'done') {
            finish();
            controller.close();
          }
        } catch (e) {
          finish();
          controller.error(mapStorageError(e, `exportBank("${name}")`));
        }
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}
