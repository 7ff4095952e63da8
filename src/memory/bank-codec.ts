/** A bank's RecordCodec: PQ codebooks packed into the bank's meta (u32 counts and lengths, then the books). */
import { deserializeCodebook, serializeCodebook, type PqCodebook, type RecordCodec } from './codec';
import type { CodecSpec, MemoryShape } from './types';

export function packCodebooks(c: RecordCodec): Uint8Array | undefined {
  const books = [...(c.keyBooks ?? []), ...(c.valueBooks ?? [])].map(serializeCodebook);
  if (books.length === 0) return undefined;
  const size = 8 + books.reduce((n, b) => n + 4 + b.byteLength, 0);
  const out = new Uint8Array(size),
    dv = new DataView(out.buffer);
  dv.setUint32(0, c.keyBooks?.length ?? 0, true);
  dv.setUint32(4, c.valueBooks?.length ?? 0, true);
  let at = 8;
  for (const b of books) {
    dv.setUint32(at, b.byteLength, true);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  return out;
}

export function unpackCodebooks(spec: CodecSpec, shape: MemoryShape, bytes: Uint8Array | undefined): RecordCodec {
  const c: RecordCodec = { spec, shape };
  if (!bytes) return c;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nk = dv.getUint32(0, true),
    nv = dv.getUint32(4, true);
  const books: PqCodebook[] = [];
  let at = 8;
  for (let i = 0; i < nk + nv; i++) {
    const len = dv.getUint32(at, true);
    books.push(deserializeCodebook(bytes.slice(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  if (nk) c.keyBooks = books.slice(0, nk);
  if (nv) c.valueBooks = books.slice(nk);
  return c;
}
