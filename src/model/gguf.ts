/**
 * GGUF headers (ggml's model file, versions 2 and 3, little-endian): magic "GGUF", u32 version,
 * u64 tensor count, u64 metadata count, the metadata key/values, the tensor infos (name, dims with
 * the contiguous axis first, ggml type, offset in the data section), then the data section at the
 * next multiple of `general.alignment` (default 32). The header is read from a stream as far as it
 * goes, never the data; the vocabulary in it can be several MB.
 */
import { ModelConfigError, ModelFormatError, TruncatedFileError, UnsupportedDtypeError } from '../util/errors';
import type { ModelSource } from './source';

/** ggml types: name, values per block, bytes per block. The loader reads the ones with a `dtype`. */
const ggmlTypes: Record<number, { name: string; block: number; bytes: number; dtype?: GgufDtype }> = {
  0: { name: 'F32', block: 1, bytes: 4, dtype: 'F32' },
  1: { name: 'F16', block: 1, bytes: 2, dtype: 'F16' },
  2: { name: 'Q4_0', block: 32, bytes: 18, dtype: 'Q4_0' },
  3: { name: 'Q4_1', block: 32, bytes: 20 },
  6: { name: 'Q5_0', block: 32, bytes: 22 },
  7: { name: 'Q5_1', block: 32, bytes: 24 },
  8: { name: 'Q8_0', block: 32, bytes: 34, dtype: 'Q8_0' },
  9: { name: 'Q8_1', block: 32, bytes: 36 },
  10: { name: 'Q2_K', block: 256, bytes: 84 },
  11: { name: 'Q3_K', block: 256, bytes: 110 },
  12: { name: 'Q4_K', block: 256, bytes: 144, dtype: 'Q4_K' },
  13: { name: 'Q5_K', block: 256, bytes: 176 },
  14: { name: 'Q6_K', block: 256, bytes: 210, dtype: 'Q6_K' },
  15: { name: 'Q8_K', block: 256, bytes: 292 },
  16: { name: 'IQ2_XXS', block: 256, bytes: 66 },
  17: { name: 'IQ2_XS', block: 256, bytes: 74 },
  18: { name: 'IQ3_XXS', block: 256, bytes: 98 },
  19: { name: 'IQ1_S', block: 256, bytes: 50 },
  20: { name: 'IQ4_NL', block: 32, bytes: 18 },
  21: { name: 'IQ3_S', block: 256, bytes: 110 },
  22: { name: 'IQ2_S', block: 256, bytes: 82 },
  23: { name: 'IQ4_XS', block: 256, bytes: 136 },
  24: { name: 'I8', block: 1, bytes: 1 },
  25: { name: 'I16', block: 1, bytes: 2 },
  26: { name: 'I32', block: 1, bytes: 4 },
  27: { name: 'I64', block: 1, bytes: 8 },
  28: { name: 'F64', block: 1, bytes: 8 },
  29: { name: 'IQ1_M', block: 256, bytes: 56 },
  30: { name: 'BF16', block: 1, bytes: 2, dtype: 'BF16' },
  34: { name: 'TQ1_0', block: 256, bytes: 54 },
  35: { name: 'TQ2_0', block: 256, bytes: 66 },
  39: { name: 'MXFP4', block: 32, bytes: 17 },
};

/** The tensor types the engine loads from GGUF files. */
export type GgufDtype = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';
export const supportedGgufTypes = Object.values(ggmlTypes)
  .filter((t) => t.dtype)
  .map((t) => t.name);

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  dims: number[]; // GGUF order: dims[0] is the contiguous axis (HF shape reversed)
  type: string; // ggml type name, e.g. 'Q4_K'
  dtype: GgufDtype | null; // null: a type the engine does not load
  begin: number; // absolute byte offset in the file
  end: number; // absolute, exclusive
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataStart: number; // absolute offset of the data section
}

const magic = 0x46554747; // "GGUF" as a little-endian u32
const maxCount = 1 << 24;

/** Pulls bytes from a stream on demand; every read checks that the bytes are there. */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private base = 0; // file offset of buf[0]
  private done = false;
  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    readonly file: string,
    private readonly size: number | null,
  ) {}

  get offset(): number {
    return this.base + this.at;
  }
  has(n: number): boolean {
    return this.buf.length - this.at >= n;
  }

  async need(n: number, what: string): Promise<void> {
    while (this.buf.length - this.at < n) {
      const { done, value } = this.done ? { done: true, value: undefined } : await this.reader.read();
      if (done || !value) {
        this.done = true;
        const end = this.base + this.buf.length;
        throw new TruncatedFileError(
          `${this.file}: the GGUF header ends at byte ${end} while reading ${what} (needs ${n} bytes at ${this.offset})`,
          { file: this.file, expected: this.offset + n, received: this.size ?? end },
        );
      }
      const rest = this.buf.subarray(this.at);
      const next = new Uint8Array(rest.length + value.length);
      next.set(rest);
      next.set(value, rest.length);
      this.base += this.at;
      this.at = 0;
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
  }

  u8(): number {
    return this.view.getUint8(this.at++);
  }
  u16(): number {
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  view8(): DataView {
    return this.view;
  }
  skip(n: number): void {
    this.at += n;
  }
  get position(): number {
    return this.at;
  }
}

function safe(v: bigint, what: string, file: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError(`${file}: ${what} ${v} is too large`, { file, field: what });
  return Number(v);
}

const decoder = new TextDecoder('utf-8');

async function readString(c: Cursor, what: string): Promise<string> {
  if (!c.has(8)) await c.need(8, what); // awaited only when the buffer runs dry: vocabularies hold 10⁵ strings
  const n = safe(c.u64(), `length of ${what}`, c.file);
  if (!c.has(n)) await c.need(n, what);
  return decoder.decode(c.bytes(n));
}

const scalarSizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

function readScalar(c: Cursor, type: number): GgufValue {
  const v = c.view8(),
    at = c.position;
  c.skip(scalarSizes[type]);
  switch (type) {
    case 0:
      return v.getUint8(at);
    case 1:
      return v.getInt8(at);
    case 2:
      return v.getUint16(at, true);
    case 3:
      return v.getInt16(at, true);
    case 4:
      return v.getUint32(at, true);
    case 5:
      return v.getInt32(at, true);
    case 6:
      return v.getFloat32(at, true);
    case 7:
      return v.getUint8(at) !== 0;
    case 10: {
      const b = v.getBigUint64(at, true);
      return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    case 11: {
      const b = v.getBigInt64(at, true);
      return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    default:
      return v.getFloat64(at, true);
  }
}

async function readValue(c: Cursor, type: number, key: string): Promise<GgufValue> {
  if (type === 8) return readString(c, `the value of ${key}`);
  if (type in scalarSizes) {
    await c.need(scalarSizes[type], key);
    return readScalar(c, type);
  }
  if (type !== 9)
    throw new ModelFormatError(`${c.file}: metadata "${key}" has unknown value type ${type}`, { file: c.file, field: key, actual: type });
  await c.need(12, key);
  const itemType = c.u32();
  const n = safe(c.u64(), `length of ${key}`, c.file);
  if (n > maxCount * 4) throw new ModelFormatError(`${c.file}: metadata "${key}" claims ${n} items`, { file: c.file, field: key });
  const out: GgufValue[] = new Array(n);
  if (itemType in scalarSizes) {
    await c.need(n * scalarSizes[itemType], key);
    for (let i = 0; i < n; i++) out[i] = readScalar(c, itemType);
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = await readValue(c, itemType, `${key}[${i}]`);
  return out;
}

async function readPreamble(c: Cursor): Promise<{ version: number; tensors: number; kvs: number }> {
  await c.need(4, 'the magic');
  const m = c.u32();
  if (m !== magic) {
    throw new ModelFormatError(`${c.file}: not a GGUF file (magic 0x${m.toString(16).padStart(8, '0')}, expected "GGUF")`, {
      file: c.file,
      expected: 'GGUF',
      actual: m,
    });
  }
  await c.need(20, 'the header counts');
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian file?)' : version === 1 ? ' (version 1 is obsolete; re-convert the model)' : '';
    throw new ModelFormatError(`${c.file}: GGUF version ${version} is not supported${hint}; supported: 2, 3`, {
      file: c.file,
      field: 'version',
      expected: [2, 3],
      actual: version,
    });
  }
  const tensors = safe(c.u64(), 'tensor count', c.file),
    kvs = safe(c.u64(), 'metadata count', c.file);
  if (tensors > maxCount || kvs > maxCount) {
    throw new ModelFormatError(`${c.file}: implausible counts (${tensors} tensors, ${kvs} metadata entries)`, { file: c.file });
  }
  return { version, tensors, kvs };
}

async function readTensorInfo(c: Cursor): Promise<{ name: string; dims: number[]; typeId: number; offset: number }> {
  const name = await readString(c, 'a tensor name');
  await c.need(4, `tensor "${name}"`);
  const nDims = c.u32();
  if (nDims < 1 || nDims > 4)
    throw new ModelFormatError(`${c.file}: tensor "${name}" has ${nDims} dimensions (1..4)`, { file: c.file, tensor: name });
  await c.need(8 * nDims + 12, `tensor "${name}"`);
  const dims: number[] = [];
  for (let i = 0; i < nDims; i++) dims.push(safe(c.u64(), `dimension of ${name}`, c.file));
  const typeId = c.u32();
  return { name, dims, typeId, offset: safe(c.u64(), `offset of ${name}`, c.file) };
}

function tensorOf(
  file: string,
  t: { name: string; dims: number[]; typeId: number; offset: number },
  dataStart: number,
  alignment: number,
): GgufTensorInfo {
  const type = ggmlTypes[t.typeId];
  if (!type) {
    throw new UnsupportedDtypeError(
      `${file}: tensor "${t.name}" has unknown ggml type ${t.typeId}; the engine loads ${supportedGgufTypes.join(', ')}`,
      { file, tensor: t.name, dtype: t.typeId },
    );
  }
  if (t.dims[0] % type.block !== 0) {
    throw new ModelFormatError(
      `${file}: tensor "${t.name}" (${type.name}) has ${t.dims[0]} values per row, not whole blocks of ${type.block}`,
      { file, tensor: t.name },
    );
  }
  if (t.offset % alignment !== 0) {
    throw new ModelFormatError(
      `${file}: tensor "${t.name}" starts at data offset ${t.offset}, not a multiple of the alignment ${alignment}`,
      { file, tensor: t.name, actual: t.offset },
    );
  }
  const bytes = (t.dims.reduce((a, b) => a * b, 1) / type.block) * type.bytes;
  const begin = dataStart + t.offset;
  return { name: t.name, dims: t.dims, type: type.name, dtype: type.dtype ?? null, begin, end: begin + bytes };
}

/** Parses a GGUF header from a stream of the file's bytes (read as far as the header goes). */
export async function parseGgufHeader(stream: ReadableStream<Uint8Array>, file: string, fileSize: number | null): Promise<GgufHeader> {
  const reader = stream.getReader();
  try {
    const c = new Cursor(reader, file, fileSize);
    const { version, tensors: nTensors, kvs } = await readPreamble(c);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvs; i++) {
      const key = await readString(c, 'a metadata key');
      await c.need(4, `the type of ${key}`);
      metadata.set(key, await readValue(c, c.u32(), key));
    }
    const alignment = metadata.get('general.alignment') ?? 32;
    if (typeof alignment !== 'number' || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
      throw new ModelFormatError(`${file}: general.alignment ${String(alignment)} is not a power of two`, {
        file,
        field: 'general.alignment',
      });
    }
    const raw = [];
    for (let i = 0; i < nTensors; i++) raw.push(await readTensorInfo(c));
    const dataStart = Math.ceil(c.offset / alignment) * alignment;
    const tensors = raw.map((t) => tensorOf(file, t, dataStart, alignment));
    checkLayout(file, tensors, fileSize);
    return { version, metadata, tensors, alignment, dataStart };
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function checkLayout(file: string, tensors: GgufTensorInfo[], fileSize: number | null): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new ModelFormatError(`${file}: tensor "${t.name}" is listed twice`, { file, tensor: t.name });
    names.add(t.name);
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new ModelFormatError(`${file}: tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`, {
        file,
        tensor: sorted[i].name,
      });
    }
  }
  const last = sorted[sorted.length - 1];
  if (fileSize !== null && last && last.end > fileSize) {
    throw new TruncatedFileError(`${file}: tensor "${last.name}" ends at byte ${last.end} but the file has ${fileSize} bytes`, {
      file,
      tensor: last.name,
      expected: last.end,
      received: fileSize,
    });
  }
}

/** Reads and parses the header of `path` in `source`. */
export async function readGgufHeader(source: ModelSource, path: string): Promise<GgufHeader> {
  const size = await source.size(path);
  return parseGgufHeader(await source.stream(path, 0), path, size);
}

/** `name-00001-of-00003.gguf` → its shards' names, in order; any other name → just itself. */
export function ggufSplitFiles(path: string): string[] {
  const m = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i.exec(path);
  if (!m) return [path];
  const count = Number(m[3]);
  return Array.from({ length: count }, (_, i) => `${m[1]}-${String(i + 1).padStart(5, '0')}-of-${m[3]}.gguf`);
}

/** A metadata value, checked: `kind` 'number' | 'string' | 'boolean' | 'array'. Missing → `fallback`, or ModelConfigError. */
export function ggufMeta<T extends GgufValue>(
  h: { metadata: Map<string, GgufValue> },
  key: string,
  kind: 'number' | 'string' | 'boolean' | 'array',
  fallback?: T,
): T {
  const v = h.metadata.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ModelConfigError(`GGUF metadata "${key}" is missing`, { field: key });
  }
  const ok = kind === 'array' ? Array.isArray(v) : typeof v === kind;
  if (!ok)
    throw new ModelConfigError(
      `GGUF metadata "${key}" must be a ${kind}, got ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)?.slice(0, 80)}`,
      { field: key },
    );
  return v as T;
}
