/**
 * Streaming weight conversion: read each weight file once, front to back, convert every planned
 * tensor chunk by chunk and hand the bytes to a sink (the GPU uploader). Float tensors (F32, F16,
 * BF16) become f32, packed f16, or q8_0/q4_0 blocks (quantize on load); quantized GGUF tensors
 * (Q8_0, Q4_0, Q4_K, Q6_K) pass through as ggml blocks; GGUF's interleaved Q/K rows are put back
 * in Hugging Face order. At most one chunk of source bytes and its converted copy are held at a time.
 */
import type { WeightFormat } from '../kernels/weight-formats';
import { weightFormats } from '../kernels/weight-formats';
import { TruncatedFileError, UnsupportedDtypeError } from '../util/errors';
import { bf16ToF16Array, bf16ToF32Array, f16ToF32Array, f32ToF16Array } from '../util/f16';
import { quantizeBlocks } from './quantize';
import { dtypeBytes, type SafetensorsDtype, type SafetensorsFile } from './safetensors';
import type { ModelSource } from './source';
import { locateTensors, tensorOutputFormat, type LocatedTensor, type TensorDtype } from './tensor-plan';

/** What float matrices become on the GPU (norms and biases are always f32). */
export type TargetDtype = 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** Receives converted tensors. `bytes` belong to the sink (fresh per call). May return a promise for backpressure. */
export interface TensorSink {
  /** `format`: of a matrix, any weight format; of a vector (norm, bias), 'f32'. */
  begin(name: string, shape: number[], format: WeightFormat): void | Promise<void>;
  /** Offsets are in streamed bytes of the format (weight-formats.ts), start at 0 and increase contiguously. */
  write(name: string, byteOffset: number, bytes: Uint8Array): void | Promise<void>;
  end(name: string): void | Promise<void>;
}

export interface LoadProgress {
  loadedBytes: number; // source bytes read so far, over all files
  totalBytes: number; // source bytes that will be read, over all files
  file: string; // file being read
}

export interface StreamTensorsOptions {
  targetDtype: TargetDtype; // float matrices and embeddings; norms and biases are always f32
  chunkBytes?: number; // source bytes staged per sink write (at least one block's worth), default 8 MiB
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('convert.ts assumes a little-endian host (safetensors data is little-endian)');
}

/** Source values per unit and bytes per unit of each tensor dtype (an element, or a ggml block). */
export const sourceUnits: Record<TensorDtype, { elems: number; bytes: number }> = {
  F32: { elems: 1, bytes: 4 },
  F16: { elems: 1, bytes: 2 },
  BF16: { elems: 1, bytes: 2 },
  Q8_0: { elems: 32, bytes: 34 },
  Q4_0: { elems: 32, bytes: 18 },
  Q4_K: { elems: 256, bytes: 144 },
  Q6_K: { elems: 256, bytes: 210 },
};

const isFloat = (d: TensorDtype): d is SafetensorsDtype => d === 'F32' || d === 'F16' || d === 'BF16';

/**
 * Convert whole elements of dtype `src` to `dst`; returns a fresh little-endian byte array.
 * `bytes.length` must be a multiple of the source element size.
 */
export function convertElements(src: SafetensorsDtype, dst: 'f32' | 'f16', bytes: Uint8Array): Uint8Array {
  const size = dtypeBytes[src];
  if (bytes.length % size !== 0) throw new RangeError(`convertElements: ${bytes.length} bytes is not a whole number of ${src}`);
  const a = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const n = bytes.length / size;
  const u8 = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if ((src === 'F32' && dst === 'f32') || (src === 'F16' && dst === 'f16')) return a === bytes ? bytes.slice() : a;
  if (src === 'F32') return u8(f32ToF16Array(new Float32Array(a.buffer, a.byteOffset, n)));
  const halves = new Uint16Array(a.buffer, a.byteOffset, n);
  if (src === 'F16') return u8(f16ToF32Array(halves));
  return u8(dst === 'f32' ? bf16ToF32Array(halves) : bf16ToF16Array(halves));
}

/** Source bytes (whole units) of `src` → streamed bytes of `out`. */
function convertPiece(t: LocatedTensor, out: WeightFormat, bytes: Uint8Array): Uint8Array {
  const src = t.dtype;
  if (isFloat(src)) {
    if (out === 'f32' || out === 'f16') return convertElements(src, out, bytes);
    if (out === 'q8_0' || out === 'q4_0') {
      const f32 = convertElements(src, 'f32', bytes);
      return quantizeBlocks(out, new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4));
    }
  } else if (out === src.toLowerCase()) {
    return bytes.slice();
  }
  throw new UnsupportedDtypeError(`tensor "${t.name}": cannot load ${src} data as ${out}`, { tensor: t.name, dtype: src });
}

/**
 * GGUF stores the llama architecture's q/k rows of each head interleaved (row 2i + j holds HF row
 * j·headDim/2 + i, for rotating adjacent pairs); this puts whole head groups back in HF order.
 */
function deinterleaveRows(bytes: Uint8Array, rowBytes: number, headRows: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const half = headRows / 2;
  for (let g = 0; g < bytes.length; g += rowBytes * headRows) {
    for (let r = 0; r < headRows; r++) {
      const dst = g + ((r % 2) * half + Math.floor(r / 2)) * rowBytes;
      out.set(bytes.subarray(g + r * rowBytes, g + (r + 1) * rowBytes), dst);
    }
  }
  return out;
}

interface Ctx {
  source: ModelSource;
  sink: TensorSink;
  opts: StreamTensorsOptions;
  chunkBytes: number;
  loaded: number;
  total: number;
}

/**
 * The source bytes a writer converts at once: whole output blocks (two for formats whose f16 scales
 * are paired), or whole heads when the rows are de-interleaved.
 */
function unitBytes(t: LocatedTensor, out: WeightFormat): number {
  const src = sourceUnits[t.dtype];
  const cols = t.shape.length > 1 ? t.shape[t.shape.length - 1] : 1;
  if (t.interleavedHeadRows) return t.interleavedHeadRows * (cols / src.elems) * src.bytes;
  const spec = weightFormats[out];
  const elems = Math.max(spec.blockElems, src.elems) * (spec.pairedScales ? 2 : 1);
  return (elems / src.elems) * src.bytes;
}

/** Bytes of stage a tensor uses: whole units, about chunkBytes. */
function stageBytes(t: LocatedTensor, out: WeightFormat, chunkBytes: number): number {
  const unit = unitBytes(t, out);
  return unit * Math.max(1, Math.floor(Math.min(chunkBytes, t.end - t.begin) / unit));
}

/** Accumulates one tensor's source bytes up to its stage size, converts whole units, writes them. */
class TensorWriter {
  private staged = 0;
  private written = 0;
  private readonly unit: number;
  private readonly stage: Uint8Array;
  readonly out: WeightFormat;

  constructor(
    private readonly ctx: Ctx,
    private readonly t: LocatedTensor,
    stage: Uint8Array,
  ) {
    this.out = tensorOutputFormat(t, ctx.opts.targetDtype);
    this.unit = unitBytes(t, this.out);
    this.stage = stage.subarray(0, stageBytes(t, this.out, ctx.chunkBytes));
  }

  async push(piece: Uint8Array): Promise<void> {
    let off = 0;
    while (off < piece.length) {
      const n = Math.min(this.stage.length - this.staged, piece.length - off);
      this.stage.set(piece.subarray(off, off + n), this.staged);
      this.staged += n;
      off += n;
      if (this.staged === this.stage.length) await this.flush(false);
    }
  }

  /** Converts the staged whole units (at the tensor's end: everything left). */
  async flush(last: boolean): Promise<void> {
    const whole = last ? this.staged : this.staged - (this.staged % this.unit);
    if (whole === 0) return;
    let piece = this.stage.subarray(0, whole);
    if (this.t.interleavedHeadRows) {
      const src = sourceUnits[this.t.dtype];
      const cols = this.t.shape.length > 1 ? this.t.shape[1] : 1;
      piece = deinterleaveRows(piece, (cols / src.elems) * src.bytes, this.t.interleavedHeadRows);
    }
    const out = convertPiece(this.t, this.out, piece);
    await this.ctx.sink.write(this.t.name, this.written, out);
    this.written += out.length;
    this.stage.copyWithin(0, whole, this.staged);
    this.staged -= whole;
  }
}

function truncated(file: string, t: LocatedTensor, pos: number): TruncatedFileError {
  const expected = t.end - t.begin;
  const received = Math.max(0, pos - t.begin);
  return new TruncatedFileError(
    `${file}: data ends at byte ${pos}; tensor "${t.name}" expected ${expected} bytes ` +
      `(file bytes ${t.begin}..${t.end}), received ${received}`,
    { file, tensor: t.name, expected, received },
  );
}

/** Stream the non-empty `tensors` (sorted by offset) of one file in a single sequential read. */
async function streamFile(ctx: Ctx, file: string, tensors: LocatedTensor[]): Promise<void> {
  const { sink, opts } = ctx;
  const start = tensors[0].begin;
  const end = tensors[tensors.length - 1].end;
  const stage = new Uint8Array(Math.max(...tensors.map((t) => stageBytes(t, tensorOutputFormat(t, opts.targetDtype), ctx.chunkBytes))));
  const reader = (await ctx.source.stream(file, start, end)).getReader();
  let pos = start;
  let ti = 0;
  let w: TensorWriter | null = null;
  try {
    while (ti < tensors.length) {
      opts.signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) throw truncated(file, tensors[ti], pos);
      let off = 0;
      while (off < value.length && ti < tensors.length) {
        const t = tensors[ti];
        const n = pos < t.begin ? Math.min(t.begin - pos, value.length - off) : Math.min(t.end - pos, value.length - off);
        if (pos >= t.begin) {
          if (!w) {
            w = new TensorWriter(ctx, t, stage);
            await sink.begin(t.name, t.shape, w.out);
          }
          await w.push(value.subarray(off, off + n));
        }
        pos += n;
        off += n;
        ctx.loaded += n;
        if (pos === t.end && w) {
          await w.flush(true);
          await sink.end(t.name);
          w = null;
          ti++;
        }
      }
      opts.onProgress?.({ loadedBytes: ctx.loaded, totalBytes: ctx.total, file });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Stream every tensor of `plan` (name → expected shape, e.g. expectedTensors(cfg), or name → tensor,
 * e.g. validateTensors(cfg, files)) from safetensors `files` into `sink`, converted to
 * `targetDtype` (norms and biases: f32). Each file is read once, sequentially; tensors the plan does
 * not name are skipped. Throws MissingTensorError / ShapeMismatchError before reading data,
 * TruncatedFileError when a stream ends early, and the signal's reason on abort.
 */
export async function streamTensors(
  source: ModelSource,
  files: readonly SafetensorsFile[],
  plan: ReadonlyMap<string, readonly number[] | { shape: readonly number[] }>,
  sink: TensorSink,
  opts: StreamTensorsOptions,
): Promise<void> {
  const shapes = new Map<string, readonly number[]>();
  for (const [name, v] of plan) shapes.set(name, Array.isArray(v) ? v : (v as { shape: readonly number[] }).shape);
  await streamLocated(
    source,
    files.map((f) => f.path),
    locateTensors(shapes, files).values(),
    sink,
    opts,
  );
}

/**
 * Stream located tensors (safetensors or GGUF) into `sink`: `files` in the order given, each read
 * once, sequentially, from its first planned tensor to its last.
 */
export async function streamLocated(
  source: ModelSource,
  files: readonly string[],
  tensors: Iterable<LocatedTensor>,
  sink: TensorSink,
  opts: StreamTensorsOptions,
): Promise<void> {
  const chunkBytes = opts.chunkBytes ?? 8 << 20;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const byFile = new Map<string, LocatedTensor[]>();
  for (const t of tensors) {
    if (!byFile.has(t.file)) byFile.set(t.file, []);
    byFile.get(t.file)!.push(t);
  }
  const ctx: Ctx = { source, sink, opts, chunkBytes, loaded: 0, total: 0 };
  const work: [string, LocatedTensor[]][] = [];
  for (const f of files) {
    const list = (byFile.get(f) ?? []).sort((a, b) => a.begin - b.begin);
    const empty = list.filter((t) => t.begin === t.end);
    const data = list.filter((t) => t.begin < t.end);
    for (const t of empty) {
      await sink.begin(t.name, t.shape, tensorOutputFormat(t, opts.targetDtype));
      await sink.end(t.name);
    }
    if (data.length > 0) {
      work.push([f, data]);
      ctx.total += data[data.length - 1].end - data[0].begin;
    }
  }
  opts.signal?.throwIfAborted();
  for (const [file, list] of work) await streamFile(ctx, file, list);
}
