/**
 * GpuMatrix: a row-major (rows, cols) weight matrix on the GPU in one of the weight formats
 * (kernels/weight-formats.ts: f32, packed f16, or ggml's quantized blocks), split in row parts when
 * its bytes exceed one storage binding. Weight loaders create it once at load (style.md rule 5) and
 * stream bytes of its format into it.
 */
import { AdapterLimitError } from '../util/errors';
import { ArgCheck } from './check';
import { checkCols, partBytes, streamBytes, weightFormats, type WeightFormat } from './weight-formats';

export type MatrixDtype = WeightFormat;

export interface GpuMatrixPart {
  buffer: GPUBuffer; // (rows, cols) in the matrix format's GPU layout (weight-formats.ts)
  rowStart: number; // first matrix row held by this part
  rows: number;
}

export interface GpuMatrix {
  rows: number;
  cols: number;
  dtype: MatrixDtype;
  parts: GpuMatrixPart[]; // consecutive row ranges covering [0, rows)
}

export interface CreateGpuMatrixOptions {
  rows: number;
  cols: number;
  dtype: MatrixDtype;
  label: string;
  /** Largest part buffer in bytes (default: the device's storage binding and buffer size limits). */
  maxPartBytes?: number;
}

/** Streamed bytes of one row (what writeMatrixRows offsets count). */
export function matrixRowBytes(m: Pick<GpuMatrix, 'cols' | 'dtype'>): number {
  return streamBytes(m.dtype, 1, m.cols);
}

/** GPU bytes the matrix holds. */
export function matrixGpuBytes(m: GpuMatrix): number {
  return m.parts.reduce((a, p) => a + partBytes(m.dtype, p.rows, m.cols), 0);
}

const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

export function createGpuMatrix(device: GPUDevice, opts: CreateGpuMatrixOptions): GpuMatrix {
  const { rows, cols, dtype, label } = opts;
  const whole = (v: number) => Number.isInteger(v) && v >= 1;
  const c = new ArgCheck('create_gpu_matrix')
    .that(whole(rows) && whole(cols), label, 'a shape of positive integers', [rows, cols])
    .that(dtype !== 'f16' || cols % 2 === 0, label, 'an even column count for packed f16', cols);
  checkCols(c, label, dtype, cols);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const maxPartBytes = Math.min(opts.maxPartBytes ?? limit, limit);
  const spec = weightFormats[dtype];
  const rowBytes = (cols / spec.blockElems) * spec.gpuBlockBytes;
  // Element indices are u32 in the kernels; paired scales need every part to start on an even block.
  let rowsPerPart = Math.min(Math.floor(maxPartBytes / rowBytes), Math.floor(0xffffffff / cols));
  while (rowsPerPart > 0 && partBytes(dtype, rowsPerPart, cols) > maxPartBytes) rowsPerPart--;
  if (spec.pairedScales && (cols / spec.blockElems) % 2 === 1 && rowsPerPart < rows) rowsPerPart -= rowsPerPart % 2;
  if (rowsPerPart < 1) {
    throw new AdapterLimitError(`createGpuMatrix(${label}): one row is ${rowBytes} bytes, more than a part may hold (${maxPartBytes})`, {
      tensor: label,
      limit: 'maxStorageBufferBindingSize',
      actual: maxPartBytes,
      required: rowBytes,
    });
  }
  const parts: GpuMatrixPart[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += rowsPerPart) {
    const partRows = Math.min(rowsPerPart, rows - rowStart);
    const size = Math.max(16, partBytes(dtype, partRows, cols));
    const partLabel = `${label}.part${parts.length}`;
    parts.push({ buffer: device.createBuffer({ label: partLabel, size, usage }), rowStart, rows: partRows });
  }
  return { rows, cols, dtype, parts };
}

function asBytes(data: ArrayBufferView<ArrayBuffer> | ArrayBuffer): Uint8Array<ArrayBuffer> {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes `bytes` (streamed bytes of the matrix format, row-major) at `byteOffset` of the whole
 * matrix, splitting the range over the parts it touches. Offsets and lengths must be whole blocks of
 * the format (4 bytes for f32 and f16: queue.writeBuffer's rule); they need not fall on row
 * boundaries. Formats with paired f16 scales (q8_0, q4_0) also need writes to start on an even
 * block of their part (each part does) and to hold an even number of blocks unless they end one.
 */
export function writeMatrixRows(
  device: GPUDevice,
  m: GpuMatrix,
  byteOffset: number,
  bytes: ArrayBufferView<ArrayBuffer> | ArrayBuffer,
): void {
  const src = asBytes(bytes);
  const spec = weightFormats[m.dtype];
  const unit = spec.streamBlockBytes;
  const rowBytes = matrixRowBytes(m);
  const total = m.rows * rowBytes;
  const label = m.parts[0]?.buffer.label ?? 'matrix';
  const c = new ArgCheck('write_matrix_rows');
  const range = `[${byteOffset}, ${byteOffset + src.byteLength})`;
  const bad = (expected: string): never => c.fail(label, expected, range, 'byte range');
  if (byteOffset % unit !== 0 || src.byteLength % unit !== 0 || byteOffset < 0 || byteOffset + src.byteLength > total) {
    bad(`whole ${unit}-byte ${m.dtype} blocks inside the matrix's ${total} bytes`);
  }
  let pos = 0;
  for (const part of m.parts) {
    if (pos === src.byteLength) break;
    const partStart = part.rowStart * rowBytes;
    const partEnd = partStart + part.rows * rowBytes;
    const at = byteOffset + pos;
    if (at >= partEnd) continue;
    const n = Math.min(partEnd - at, src.byteLength - pos);
    const block = (at - partStart) / unit,
      blocks = n / unit,
      partBlocks = (partEnd - partStart) / unit;
    if (spec.pairedScales && (block % 2 !== 0 || (blocks % 2 !== 0 && block + blocks !== partBlocks))) {
      bad(`a range that starts on an even ${m.dtype} block of its part and holds an even number of blocks unless it ends the part`);
    }
    for (const w of spec.place(src.subarray(pos, pos + n), block, partBlocks)) {
      device.queue.writeBuffer(part.buffer, w.offset, w.bytes as Uint8Array<ArrayBuffer>, 0, w.bytes.byteLength);
    }
    pos += n;
  }
}

export function destroyGpuMatrix(m: GpuMatrix): void {
  for (const p of m.parts) p.buffer.destroy();
}
