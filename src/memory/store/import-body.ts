/** The frames after the header of a bank file: rows and documents written in batches, then the trailer. */
import { BankFormatError } from '../../util/errors';
import { type ByteReader, Frame, parseJson, readFrame, type FrameIn } from './container';
import { recordChecksum } from './crc32';
import { putValue, runWrite, writeDocument, writeRows, type RowSet } from './rows';
import type { BankDb, BankMeta, BankMetaCore, DocumentRow } from './schema';
import type { Reference } from '../types';
import { validTokens } from './validate';

export interface ImportProgress {
  bytesRead: number;
  references: number;
  documents: number;
}

const WHAT = 'importBank';
const BATCH_ITEMS = 256;
const BATCH_BYTES = 8 << 20;

function fail(f: FrameIn, message: string): never {
  throw new BankFormatError(`${WHAT}: ${message} (frame at offset ${f.offset})`, { offset: f.offset, kind: f.kind });
}

const view = (f: FrameIn) => new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);

function parseReference(f: FrameIn, lastId: number): Reference {
  const r = parseJson(f, WHAT) as Reference;
  if (!r || !Number.isInteger(r.id) || r.id <= lastId || typeof r.source !== 'string' || typeof r.text !== 'string') {
    fail(f, `reference is malformed or its id is not above ${lastId}`);
  }
  if (r.tokens !== undefined && !validTokens(r.tokens, r.tokenCount)) fail(f, `reference ${r.id}: tokens must be tokenCount integer ids`);
  return r;
}

function attachRecord(f: FrameIn, row: RowSet | null): void {
  if (f.payload.byteLength < 12) fail(f, 'record frame is too short');
  const dv = view(f);
  const id = dv.getUint32(0, true);
  const checksum = dv.getUint32(4, true);
  const n = dv.getUint32(8, true);
  const rest = f.payload.byteLength - 12 - n;
  if (!row || row.reference.id !== id || row.record || row.vector) fail(f, `record ${id} does not follow its reference`);
  if (rest < 0 || rest % 2) fail(f, `record ${id} has a bad payload length ${n}`);
  const payload = f.payload.slice(12, 12 + n);
  const positions = new Uint16Array(f.payload.slice(12 + n).buffer);
  if (recordChecksum(payload, positions) !== checksum) fail(f, `record ${id} does not match its own checksum`);
  row.record = { id, payload, positions, checksum };
}

function attachVector(f: FrameIn, row: RowSet | null): void {
  if (f.payload.byteLength < 4 || (f.payload.byteLength - 4) % 4) fail(f, 'vector frame has a bad length');
  const id = view(f).getUint32(0, true);
  if (!row || row.reference.id !== id || row.vector) fail(f, `vector ${id} does not follow its reference`);
  row.vector = { id, vector: new Float32Array(f.payload.slice(4).buffer) };
}

function checkTrailer(f: FrameIn, core: BankMetaCore, blobs: number): void {
  if (f.payload.byteLength !== 24) fail(f, 'trailer has a bad length');
  const dv = view(f);
  const got = [0, 1, 2, 3, 4, 5].map((i) => dv.getUint32(4 * i, true));
  const c = core.counts;
  const want = [blobs, c.references, c.records, c.vectors, c.documents];
  if (want.some((v, i) => v !== got[i]))
    fail(f, `trailer counts ${JSON.stringify(got.slice(0, 5))} differ from the frames read ${JSON.stringify(want)}`);
  if (got[5] !== f.crcBefore) fail(f, `file checksum ${got[5]} differs from the computed ${f.crcBefore}`);
}

/**
 * Reads frames until the trailer, writing rows in batched transactions (meta counts updated in
 * each). Returns the written core meta.
 */
export async function parseBody(
  r: ByteReader,
  db: BankDb,
  meta: BankMeta,
  blobs: number,
  onProgress?: (p: ImportProgress) => void,
): Promise<BankMetaCore> {
  const { codebooks: _c, retrieverState: _r, ...core } = meta;
  let rows: RowSet[] = [];
  let docs: DocumentRow[] = [];
  let bytes = 0;
  let current: RowSet | null = null;
  let lastId = -1;
  let lastSource: string | null = null;
  /** Writes the complete rows and documents read so far (not `current`: its record may follow). */
  const flush = async () => {
    if (!rows.length && !docs.length) return;
    const batch = rows;
    const docBatch = docs;
    rows = [];
    docs = [];
    bytes = 0;
    await runWrite(db, ['meta', 'references', 'records', 'vectors', 'documents'], `${WHAT} into "${core.name}"`, async (tx) => {
      await writeRows(tx, core, batch);
      docBatch.forEach((d) => writeDocument(tx, core, d, false));
      putValue(tx.objectStore('meta'), core, 'bank');
    });
    onProgress?.({ bytesRead: r.offset, references: core.counts.references, documents: core.counts.documents });
  };
  for (;;) {
    const f = await readFrame(r, WHAT);
    if (f.kind === Frame.reference) {
      if (lastSource !== null) fail(f, 'reference after the documents');
      if (current) rows.push(current);
      current = { reference: parseReference(f, lastId) };
      lastId = current.reference.id;
    } else if (f.kind === Frame.record) {
      attachRecord(f, current);
    } else if (f.kind === Frame.vector) {
      attachVector(f, current);
    } else if (f.kind === Frame.document) {
      const d = parseJson(f, WHAT) as DocumentRow;
      if (!d || typeof d.source !== 'string' || !Array.isArray(d.referenceIds) || (lastSource !== null && d.source <= lastSource))
        fail(f, 'document is malformed or out of order');
      if (current) {
        rows.push(current);
        current = null;
      }
      docs.push(d);
      lastSource = d.source;
    } else if (f.kind === Frame.trailer) {
      if (current) {
        rows.push(current);
        current = null;
      }
      await flush();
      checkTrailer(f, core, blobs);
      if (!(await r.atEnd())) throw new BankFormatError(`${WHAT}: bytes after the trailer (offset ${r.offset})`, { offset: r.offset });
      return core;
    } else {
      fail(f, `unexpected frame kind ${f.kind}`);
    }
    bytes += f.payload.byteLength;
    if (rows.length + docs.length >= BATCH_ITEMS || bytes >= BATCH_BYTES) await flush();
  }
}
