/**
 * A `TensorReader` over one F32 safetensors file, given a way to read byte ranges of it: the whole
 * file in memory (browser tests) or positioned reads of a file descriptor (tools/onnx/export-file.ts).
 * The header is parsed by the engine's own parser (src/model/safetensors.ts).
 */
import { parseSafetensorsHeader, safetensorsHeaderLength } from '../../src/model/safetensors';
import { UnsupportedDtypeError } from '../../src/util/errors';
import type { TensorReader } from './export-llama';

/** `readRange(begin, end)`: bytes [begin, end) of the file; `size`: its length. */
export function safetensorsReader(
  readRange: (begin: number, end: number) => Uint8Array,
  size: number,
  file = 'model.safetensors',
): TensorReader {
  const headerEnd = 8 + safetensorsHeaderLength(readRange(0, Math.min(8, size)), file);
  const header = parseSafetensorsHeader(readRange(0, Math.min(headerEnd, size)), size, file);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    shape: (name) => byName.get(name)?.shape ?? null,
    read: (name) => {
      const t = byName.get(name);
      if (!t) throw new Error(`${file}: no tensor ${name}`);
      if (t.dtype !== 'F32') throw new UnsupportedDtypeError(`onnx export: ${file} ${name} is ${t.dtype}; the exporter reads F32 only`);
      const bytes = readRange(t.begin, t.end);
      // A copy at offset 0: safetensors data need not be 4-byte aligned within the file.
      return new Float32Array(bytes.slice().buffer);
    },
  };
}

/** A reader over a whole file held in memory. */
export function safetensorsBytesReader(bytes: Uint8Array, file?: string): TensorReader {
  return safetensorsReader((b, e) => bytes.subarray(b, e), bytes.length, file);
}
