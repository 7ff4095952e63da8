/**
 * The bank file: one versioned binary container, written and read as a stream.
 *
 * Format version 1, integers little-endian:
 *   magic    8 bytes  89 4D 33 42 41 4E 4B 0A   ("\x89M3BANK\n": the high byte catches 7-bit transfers)
 *   version  u32      1
 *   frames   kind u8 | length u32 | payload (length bytes) | crc u32 = CRC-32(kind ‖ length ‖ payload)
 *     1 HEADER     UTF-8 JSON { format: "memory3-bank", meta, blobs }: the bank's BankMeta, where every
 *                  typed array (codebooks, binary retriever state) is replaced by {"$blob": i, "$type": "Uint8Array"…};
 *                  exactly one, first
 *     2 BLOB       the bytes of blob i, for i = 0 … blobs-1, right after the header
 *     3 REFERENCE  UTF-8 JSON of a Reference; ids strictly ascending
 *     4 RECORD     id u32 | checksum u32 (as stored) | payloadLength u32 | payload | positions (u16 each);
 *                  belongs to the REFERENCE frame right before it
 *     5 VECTOR     id u32 | f32 × vectorDim; belongs to the REFERENCE frame before it (after its RECORD)
 *     6 DOCUMENT   UTF-8 JSON of a DocumentRow; after every REFERENCE, sources ascending
 *     7 TRAILER    u32 × 5 counts (blobs, references, records, vectors, documents) |
 *                  fileCrc u32 = CRC-32 of every byte of the file before this frame; last, nothing after it
 * The header's meta.counts must equal the trailer's counts and what the frames hold.
 */
import { BankFormatError, TruncatedFileError } from '../../util/errors';
import { crc32 } from './crc32';

export const MAGIC = new Uint8Array([0x89, 0x4d, 0x33, 0x42, 0x41, 0x4e, 0x4b, 0x0a]);
export const FORMAT_VERSION = 1;
export const Frame = { header: 1, blob: 2, reference: 3, record: 4, vector: 5, document: 6, trailer: 7 } as const;
/** No frame of a valid file is this large; a bigger length is a corrupted length field. */
export const MAX_FRAME = 1 << 28;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(4 * i, v, true));
  return out;
}

export const jsonBytes = (v: unknown) => enc.encode(JSON.stringify(v));

/** Collects frames into chunks; keeps the running CRC of everything emitted (for the trailer). */
export class FrameWriter {
  private parts: Uint8Array[] = [];
  private size = 0;
  fileCrc = 0;

  raw(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.byteLength;
    this.fileCrc = crc32(bytes, this.fileCrc);
  }

  frame(kind: number, payload: Uint8Array[]): void {
    const length = payload.reduce((n, p) => n + p.byteLength, 0);
    const head = new Uint8Array(5);
    head[0] = kind;
    new DataView(head.buffer).setUint32(1, length, true);
    let crc = crc32(head);
    for (const p of payload) crc = crc32(p, crc);
    this.raw(head);
    payload.forEach((p) => this.raw(p));
    this.raw(u32s(crc));
  }

  get pending(): number {
    return this.size;
  }

  /** Everything written since the last take, as one chunk. */
  take(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    this.parts = [];
    this.size = 0;
    return out;
  }
}

/** Exact-length reads from a byte stream with the offset and the CRC of everything consumed. */
export class ByteReader {
  offset = 0;
  crc = 0;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly what: string,
  ) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else if (value?.byteLength) {
        this.chunks.push(value);
        this.buffered += value.byteLength;
      }
    }
    return this.buffered >= n;
  }

  async read(n: number, purpose: string): Promise<Uint8Array> {
    if (!(await this.fill(n))) {
      throw new TruncatedFileError(
        `${this.what}: file ends at byte ${this.offset + this.buffered} while reading ${purpose} (${n} bytes at offset ${this.offset})`,
        { offset: this.offset, needed: n },
      );
    }
    let out: Uint8Array;
    if (this.chunks[0].byteLength >= n) {
      out = this.chunks[0].subarray(0, n);
      this.chunks[0] = this.chunks[0].subarray(n);
      if (this.chunks[0].byteLength === 0) this.chunks.shift();
    } else {
      out = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const take = Math.min(c.byteLength, n - at);
        out.set(c.subarray(0, take), at);
        at += take;
        if (take === c.byteLength) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.buffered -= n;
    this.offset += n;
    this.crc = crc32(out, this.crc);
    return out;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

export interface FrameIn {
  kind: number;
  payload: Uint8Array;
  offset: number;
  crcBefore: number;
}

export async function readFrame(r: ByteReader, what: string): Promise<FrameIn> {
  const offset = r.offset;
  const crcBefore = r.crc;
  const head = await r.read(5, 'a frame header');
  const length = new DataView(head.buffer, head.byteOffset, 5).getUint32(1, true);
  if (length > MAX_FRAME)
    throw new BankFormatError(`${what}: frame at offset ${offset} claims ${length} bytes (corrupted length)`, { offset });
  const payload = await r.read(length, `a frame of kind ${head[0]}`);
  const crc = new DataView((await r.read(4, 'a frame checksum')).slice().buffer).getUint32(0, true);
  if (crc32(payload, crc32(head)) !== crc)
    throw new BankFormatError(`${what}: checksum mismatch in the frame at offset ${offset}`, { offset, kind: head[0] });
  return { kind: head[0], payload, offset, crcBefore };
}

export function parseJson(f: FrameIn, what: string): unknown {
  try {
    return JSON.parse(dec.decode(f.payload));
  } catch {
    throw new BankFormatError(`${what}: frame at offset ${f.offset} is not valid UTF-8 JSON`, { offset: f.offset });
  }
}

const typedArrays = { Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array } as const;
type TypedName = keyof typeof typedArrays;

/** Replaces every typed array inside v by {"$blob": i, "$type"} and collects its bytes. */
export function extractBlobs(v: unknown, blobs: Uint8Array[]): unknown {
  if (ArrayBuffer.isView(v)) {
    const type = Object.entries(typedArrays).find(([, Ctor]) => v instanceof Ctor)?.[0];
    if (!type) throw new BankFormatError(`bank meta holds a ${v.constructor.name}, which the bank file cannot carry`);
    blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return { $blob: blobs.length - 1, $type: type };
  }
  if (Array.isArray(v)) return v.map((x) => extractBlobs(x, blobs));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, extractBlobs(x, blobs)]));
  return v;
}

/** Inverse of extractBlobs. */
export function restoreBlobs(v: unknown, blobs: Uint8Array[]): unknown {
  if (Array.isArray(v)) return v.map((x) => restoreBlobs(x, blobs));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$blob === 'number' && typeof o.$type === 'string' && Object.keys(o).length === 2) {
    const bytes = blobs[o.$blob];
    const Ctor = typedArrays[o.$type as TypedName];
    if (!bytes || !Ctor || bytes.byteLength % Ctor.BYTES_PER_ELEMENT)
      throw new BankFormatError(`bank file: blob ${o.$blob} (${o.$type}) is missing or has a bad length`);
    return new Ctor(bytes.slice().buffer);
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, restoreBlobs(x, blobs)]));
}
