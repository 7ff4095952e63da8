/**
 * GpuMatrix: a row-major (rows, cols) weight matrix on the GPU, f32 or packed f16 (two values per
 * u32, low half first), split in row parts when its bytes exceed one storage binding. Weight
 * loaders create it once at load (style.md rule 5) and stream converted bytes into it.
 */
import { AdapterLimitError, ShapeMismatchError } from '../util/errors';

export type MatrixDtype = 'f32' | 'f16';

export interface GpuMatrixPart {
  buffer: GPUBuffer;  // (rows, cols) f32, or (rows, cols / 2) u32 of packed f16
  rowStart: number;   // first matrix row held by this part
  rows: number;
}

export interface GpuMatrix {
  rows: number;
  cols: number;
  dtype: MatrixDtype;
  parts: GpuMatrixPart[];  // consecutive row ranges covering [0, rows)
}

export interface CreateGpuMatrixOptions {
  rows: number;
  cols: number;
  dtype: MatrixDtype;
  label: string;
  /** Largest part buffer in bytes (default: the device's storage binding and buffer size limits). */
  maxPartBytes?: number;
}

export function bytesPerElement(dtype: MatrixDtype): number { return dtype === 'f32' ? 4 : 2; }

export function matrixRowBytes(m: Pick<GpuMatrix, 'cols' | 'dtype'>): number { return m.cols * bytesPerElement(m.dtype); }

const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

export function createGpuMatrix(device: GPUDevice, opts: CreateGpuMatrixOptions): GpuMatrix {
  const { rows, cols, dtype, label } = opts;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new ShapeMismatchError(`createGpuMatrix(${label}): shape (${rows}, ${cols}) is not positive integers`,
      { tensor: label, actual: [rows, cols] });
  }
  if (dtype === 'f16' && cols % 2 !== 0) {
    throw new ShapeMismatchError(`createGpuMatrix(${label}): packed f16 needs an even column count, got ${cols}`,
      { tensor: label, expected: 'even cols', actual: cols });
  }
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const maxPartBytes = Math.min(opts.maxPartBytes ?? limit, limit);
  const rowBytes = cols * bytesPerElement(dtype);
  const rowsPerPart = Math.floor(maxPartBytes / rowBytes);
  if (rowsPerPart < 1) {
    throw new AdapterLimitError(`createGpuMatrix(${label}): one row is ${rowBytes} bytes, more than a part may hold (${maxPartBytes})`,
      { tensor: label, limit: 'maxStorageBufferBindingSize', actual: maxPartBytes, required: rowBytes });
  }
  const parts: GpuMatrixPart[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += rowsPerPart) {
    const partRows = Math.min(rowsPerPart, rows - rowStart);
    const size = Math.max(16, Math.ceil((partRows * rowBytes) / 4) * 4);
    const partLabel = `${label}.part${parts.length}`;
    parts.push({ buffer: device.createBuffer({ label: partLabel, size, usage }), rowStart, rows: partRows });
  }
  return { rows, cols, dtype, parts };
}

function asBytes(data: ArrayBufferView<ArrayBuffer> | ArrayBuffer): Uint8Array<ArrayBuffer> {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes `bytes` (already converted to the matrix dtype, row-major) at `byteOffset` of the whole
 * matrix, splitting the range over the parts it touches. Offsets and lengths must be multiples of 4
 * bytes (queue.writeBuffer's rule); they need not fall on row boundaries.
 */
export function writeMatrixRows(device: GPUDevice, m: GpuMatrix, byteOffset: number, bytes: ArrayBufferView<ArrayBuffer> | ArrayBuffer): void {
  const src = asBytes(bytes);
  const rowBytes = matrixRowBytes(m);
  const total = m.rows * rowBytes;
  const label = m.parts[0]?.buffer.label ?? 'matrix';
  if (byteOffset % 4 !== 0 || src.byteLength % 4 !== 0 || byteOffset < 0 || byteOffset + src.byteLength > total) {
    throw new ShapeMismatchError(`writeMatrixRows(${label}): byte range [${byteOffset}, ${byteOffset + src.byteLength}) ` +
      `must be 4-byte aligned and inside the matrix's ${total} bytes`,
      { tensor: label, expected: { bytes: total, align: 4 }, actual: { byteOffset, byteLength: src.byteLength } });
  }
  let pos = 0;
  for (const part of m.parts) {
    if (pos === src.byteLength) break;
    const partStart = part.rowStart * rowBytes;
    const partEnd = partStart + part.rows * rowBytes;
    const at = byteOffset + pos;
    if (at >= partEnd) continue;
    const n = Math.min(partEnd - at, src.byteLength - pos);
    device.queue.writeBuffer(part.buffer, at - partStart, src, pos, n);
    pos += n;
  }
}

export function destroyGpuMatrix(m: GpuMatrix): void {
  for (const p of m.parts) p.buffer.destroy();
}
