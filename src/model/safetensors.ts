/**
 * safetensors headers and sharded-checkpoint indexes. Layout: u64 little-endian header length N, N bytes
 * of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data;
 * data_offsets are relative to byte 8 + N. Here every tensor gets absolute file offsets.
 */
import { ModelConfigError, TruncatedFileError, UnsupportedDtypeError } from '../util/errors';
import { webPageError } from '../util/web-page';
import { readJsonFile, type ModelSource } from './source';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export const dtypeBytes: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number; // absolute byte offset in the file
  end: number; // absolute, exclusive
}

export interface SafetensorsHeader {
  dataStart: number; // 8 + header length: absolute offset of the data section
  tensors: SafetensorsTensor[]; // in header order
  metadata: Record<string, string> | null;
}

/** One parsed weight file: its path in the source, size if known, and its tensors. */
export interface SafetensorsFile extends SafetensorsHeader {
  path: string;
  size: number | null;
}

export interface ShardIndex {
  weightMap: Map<string, string>; // tensor name → shard file
  files: string[]; // distinct shard files, sorted
  totalSize: number | null; // metadata.total_size when present
}

/** safetensors caps the header at 100 MB; anything larger is a corrupt length field. */
const maxHeaderBytes = 100_000_000;

/** Length N of the JSON header from the first 8 bytes. */
export function safetensorsHeaderLength(bytes: Uint8Array, file = 'safetensors file'): number {
  if (bytes.length < 8) {
    throw new TruncatedFileError(`${file}: ${bytes.length} bytes, fewer than the 8-byte header length`, {
      file,
      expected: 8,
      received: bytes.length,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n === 0n || n > BigInt(maxHeaderBytes)) {
    // Printable text starting with '<' is never a valid length (it exceeds the cap): a web page.
    if (bytes[0] === 0x3c && bytes.subarray(0, 8).every((b) => b >= 0x09 && b < 0x7f)) throw webPageError(file, file);
    throw new ModelConfigError(`${file}: header length ${n} is not in 1..${maxHeaderBytes}; not a safetensors file?`, {
      file,
      field: 'header length',
      actual: n.toString(),
    });
  }
  return Number(n);
}

function parseJsonHeader(bytes: Uint8Array, n: number, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new ModelConfigError(`${file}: header is not valid JSON (${(err as Error).message})`, { file, field: 'header' });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelConfigError(`${file}: header is not a JSON object`, { file, field: 'header' });
  }
  return json as Record<string, unknown>;
}

function parseEntry(name: string, entry: unknown, dataStart: number, file: string): SafetensorsTensor {
  const bad = (what: string) => new ModelConfigError(`${file}: tensor "${name}" ${what}`, { file, tensor: name });
  if (typeof entry !== 'object' || entry === null) throw bad('has no {dtype, shape, data_offsets} entry');
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad('has no dtype');
  if (!(dtype in dtypeBytes)) {
    throw new UnsupportedDtypeError(`${file}: tensor "${name}" has dtype ${dtype}; supported: F32, F16, BF16`, {
      file,
      tensor: name,
      dtype,
    });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw bad(`has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [b, e] = offsets as number[];
  const bytes = shape.reduce((a: number, d: number) => a * d, 1) * dtypeBytes[dtype as SafetensorsDtype];
  if (e < b || e - b !== bytes) {
    throw new ModelConfigError(
      `${file}: tensor "${name}" (${dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes ` + `but data_offsets [${b}, ${e}] span ${e - b}`,
      { file, tensor: name, expected: bytes, actual: e - b },
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e };
}

function checkLayout(tensors: SafetensorsTensor[], fileSize: number | undefined, file: string): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end && sorted[i].end > sorted[i].begin) {
      throw new ModelConfigError(`${file}: tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`, {
        file,
        tensor: sorted[i].name,
      });
    }
  }
  if (fileSize === undefined) return;
  for (const t of sorted) {
    if (t.end > fileSize) {
      throw new TruncatedFileError(`${file}: tensor "${t.name}" ends at byte ${t.end} but the file has ${fileSize} bytes`, {
        file,
        tensor: t.name,
        expected: t.end,
        received: fileSize,
      });
    }
  }
}

/**
 * Parse a safetensors header from the first bytes of a file (at least 8 + N of them).
 * `fileSize`, when known, lets it check that every tensor lies inside the file.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize?: number, file = 'safetensors file'): SafetensorsHeader {
  const n = safetensorsHeaderLength(bytes, file);
  const dataStart = 8 + n;
  if (fileSize !== undefined && dataStart > fileSize) {
    throw new TruncatedFileError(`${file}: header needs ${dataStart} bytes but the file has ${fileSize}`, {
      file,
      expected: dataStart,
      received: fileSize,
    });
  }
  if (bytes.length < dataStart) {
    throw new TruncatedFileError(`${file}: header needs ${dataStart} bytes, got ${bytes.length}`, {
      file,
      expected: dataStart,
      received: bytes.length,
    });
  }
  const json = parseJsonHeader(bytes, n, file);
  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.push(parseEntry(name, entry, dataStart, file));
  }
  checkLayout(tensors, fileSize, file);
  return { dataStart, tensors, metadata };
}

/**
 * Bytes [start, end) of a file. Memory grows with what arrives, never with what the header claims:
 * a length field promising 100 MB over a short body costs the short body.
 */
async function readBytes(source: ModelSource, path: string, start: number, end: number): Promise<Uint8Array> {
  const want = end - start;
  const parts: Uint8Array[] = [];
  let filled = 0;
  const reader = (await source.stream(path, start, end)).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const n = Math.min(value.length, want - filled);
    parts.push(value.subarray(0, n));
    filled += n;
    if (filled === want) {
      await reader.cancel();
      break;
    }
  }
  if (filled < want) {
    throw new TruncatedFileError(`${path}: header ends after ${start + filled} bytes, expected ${end}`, {
      file: path,
      expected: end,
      received: start + filled,
    });
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(want);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Read and parse the header of `path` (two small range reads, never the data). */
export async function readSafetensorsHeader(source: ModelSource, path: string): Promise<SafetensorsFile> {
  const size = await source.size(path);
  const lenBytes = await readBytes(source, path, 0, Math.min(8, size ?? 8));
  const n = safetensorsHeaderLength(lenBytes, path);
  if (size !== null && 8 + n > size) {
    throw new TruncatedFileError(`${path}: header needs ${8 + n} bytes but the file has ${size}`, {
      file: path,
      expected: 8 + n,
      received: size,
    });
  }
  const json = await readBytes(source, path, 8, 8 + n);
  const head = new Uint8Array(8 + n);
  head.set(lenBytes);
  head.set(json, 8);
  return { path, size, ...parseSafetensorsHeader(head, size ?? undefined, path) };
}

/** Parse model.safetensors.index.json. */
export function parseShardIndex(json: unknown, file = 'model.safetensors.index.json'): ShardIndex {
  const obj = json as Record<string, unknown> | null;
  const map = obj && typeof obj === 'object' ? obj.weight_map : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ModelConfigError(`${file}: missing "weight_map" object`, { file, field: 'weight_map' });
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.length === 0) {
      throw new ModelConfigError(`${file}: weight_map["${name}"] must be a file name, got ${JSON.stringify(shard)}`, {
        file,
        field: `weight_map.${name}`,
      });
    }
    weightMap.set(name, shard);
  }
  const meta = (obj as Record<string, unknown>).metadata as Record<string, unknown> | undefined;
  const total = meta && typeof meta === 'object' ? meta.total_size : undefined;
  return { weightMap, files: [...new Set(weightMap.values())].sort(), totalSize: typeof total === 'number' ? total : null };
}

/**
 * Weight files of a checkpoint: the shards named by model.safetensors.index.json, else
 * model.safetensors (an index answered with a web page or a non-JSON body counts as absent).
 */
export async function listWeightFiles(source: ModelSource): Promise<string[]> {
  const index = 'model.safetensors.index.json';
  const json = await readJsonFile(source, index, { optional: true });
  return json === null ? ['model.safetensors'] : parseShardIndex(json, index).files;
}
