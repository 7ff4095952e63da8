/** Node-only reader of HF model folders for the CPU reference: config.json + safetensors (any dtype). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReferenceTensor {
  shape: number[]; // HF order
  data: Float64Array; // decoded to float64
}

function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function decode(bytes: Uint8Array, dtype: string, count: number): Float64Array {
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = f16ToNumber(view.getUint16(2 * i, true));
  else if (dtype === 'BF16') {
    const scratch = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      scratch.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  } else throw new Error(`reference: unsupported safetensors dtype ${dtype}`);
  return out;
}

/** All tensors of one .safetensors file, decoded to float64. */
export function readSafetensors(path: string): Map<string, ReferenceTensor> {
  const file = readFileSync(path);
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, any>;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, ReferenceTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    const count = (info.shape as number[]).reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(file.buffer, file.byteOffset + dataStart + begin, end - begin);
    tensors.set(name, { shape: info.shape, data: decode(bytes, info.dtype, count) });
  }
  return tensors;
}

/** Every tensor of a model folder: model.safetensors, or the shards listed in model.safetensors.index.json. */
export function readModelTensors(dir: string): Map<string, ReferenceTensor> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) return readSafetensors(join(dir, 'model.safetensors'));
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
  const tensors = new Map<string, ReferenceTensor>();
  for (const file of new Set(Object.values(index.weight_map))) {
    for (const [name, t] of readSafetensors(join(dir, file))) tensors.set(name, t);
  }
  return tensors;
}

export function readConfig(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
}
