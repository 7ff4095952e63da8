/**
 * Streaming weight conversion: read each safetensors file once, front to back, convert every planned
 * tensor chunk by chunk (F32/F16/BF16 → f32 or f16) and hand the converted bytes to a sink (the GPU
 * uploader). At most one chunk of source bytes and its converted copy are held at a time.
 */
import { TruncatedFileError } from '../util/errors';
import { bf16ToF16Array, bf16ToF32Array, f16ToF32Array, f32ToF16Array } from '../util/f16';
import { dtypeBytes, type SafetensorsDtype, type SafetensorsFile, type SafetensorsTensor } from './safetensors';
import type { ModelSource } from './source';
import { locateTensors, tensorOutputDtype, type LocatedTensor } from './tensor-plan';

export type TargetDtype = 'f32' | 'f16';

/** Receives converted tensors. `bytes` belong to the sink (fresh per call). May return a promise for backpressure. */
export interface TensorSink {
  begin(name: string, shape: number[], dtype: TargetDtype): void | Promise<void>;
  /** Offsets are in converted bytes, start at 0 and increase contiguously. */
  write(name: string, byteOffset: number, bytes: Uint8Array): void | Promise<void>;
  end(name: string): void | Promise<void>;
}

export interface LoadProgress {
  loadedBytes: number; // source bytes read so far, over all files
  totalBytes: number; // source bytes that will be read, over all files
  file: string; // file being read
}

export interface StreamTensorsOptions {
  targetDtype: TargetDtype; // matrices and embeddings; norms and biases are always f32
  chunkBytes?: number; // source bytes staged per sink write (at least one element's worth), default 8 MiB
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('convert.ts assumes a little-endian host (safetensors data is little-endian)');
}

/**
 * Convert whole elements of dtype `src` to `dst`; returns a fresh little-endian byte array.
 * `bytes.length` must be a multiple of the source element size.
 */
export function convertElements(src: SafetensorsDtype, dst: TargetDtype, bytes: Uint8Array): Uint8Array {
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

interface Ctx {
  source: ModelSource;
  sink: TensorSink;
  opts: StreamTensorsOptions;
  chunkBytes: number;
  loaded: number;
  total: number;
}

/** Accumulates one tensor's source bytes up to chunkBytes, converts whole elements, writes them. */
class TensorWriter {
  private staged = 0;
  private written = 0;
  private readonly srcSize: number;
  readonly outDtype: TargetDtype;

  constructor(private readonly ctx: Ctx, private readonly t: LocatedTensor, private readonly stage: Uint8Array) {
    this.srcSize = dtypeBytes[t.dtype];
    this.outDtype = tensorOutputDtype(t.name, ctx.opts.targetDtype);
  }

  async push(piece: Uint8Array): Promise<void> {
    let off = 0;
    while (off < piece.length) {
      const n = Math.min(this.stage.length - this.staged, piece.length - off);
      this.stage.set(piece.subarray(off, off + n), this.staged);
      this.staged += n;
      off += n;
      if (this.staged === this.stage.length) await this.flush();
    }
  }

  async flush(): Promise<void> {
    const whole = this.staged - (this.staged % this.srcSize);
    if (whole === 0) return;
    const out = convertElements(this.t.dtype, this.outDtype, this.stage.subarray(0, whole));
    await this.ctx.sink.write(this.t.name, this.written, out);
    this.written += out.length;
    this.stage.copyWithin(0, whole, this.staged);
    this.staged -= whole;
  }
}

function truncated(file: string, t: LocatedTensor, pos: number): TruncatedFileError {
  const expected = t.end - t.begin;
  const received = Math.max(0, pos - t.begin);
  return new TruncatedFileError(`${file}: data ends at byte ${pos}; tensor "${t.name}" expected ${expected} bytes ` +
    `(file bytes ${t.begin}..${t.end}), received ${received}`, { file, tensor: t.name, expected, received });
}

/** Stream the non-empty `tensors` (sorted by offset) of one file in a single sequential read. */
async function streamFile(ctx: Ctx, file: string, tensors: LocatedTensor[]): Promise<void> {
  const { sink, opts } = ctx;
  const start = tensors[0].begin;
  const end = tensors[tensors.length - 1].end;
  const largest = Math.max(...tensors.map((t) => t.end - t.begin));
  const stage = new Uint8Array(Math.max(4, Math.min(ctx.chunkBytes, largest)));
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
          if (!w) { w = new TensorWriter(ctx, t, stage); await sink.begin(t.name, t.shape, w.outDtype); }
          await w.push(value.subarray(off, off + n));
        }
        pos += n;
        off += n;
        ctx.loaded += n;
        if (pos === t.end && w) {
          await w.flush();
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
 * e.g. validateTensors(cfg, files)) from `files` into
 * `sink`, converted to `targetDtype` (norms and biases: f32). Each file is read once, sequentially;
 * tensors the plan does not name are skipped. Throws MissingTensorError / ShapeMismatchError before
 * reading data, TruncatedFileError when a stream ends early, and the signal's reason on abort.
 */
export async function streamTensors(
  source: ModelSource,
  files: readonly SafetensorsFile[],
  plan: ReadonlyMap<string, readonly number[] | SafetensorsTensor>,
  sink: TensorSink,
  opts: StreamTensorsOptions,
): Promise<void> {
  const chunkBytes = opts.chunkBytes ?? 8 << 20;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const shapes = new Map<string, readonly number[]>();
  for (const [name, v] of plan) shapes.set(name, Array.isArray(v) ? v : (v as SafetensorsTensor).shape);
  const located = locateTensors(shapes, files);
  const byFile = new Map<string, LocatedTensor[]>();
  for (const t of located.values()) {
    if (!byFile.has(t.file)) byFile.set(t.file, []);
    byFile.get(t.file)!.push(t);
  }
  const ctx: Ctx = { source, sink, opts, chunkBytes, loaded: 0, total: 0 };
  const work: [string, LocatedTensor[]][] = [];
  for (const f of files) {
    const list = (byFile.get(f.path) ?? []).sort((a, b) => a.begin - b.begin);
    const empty = list.filter((t) => t.begin === t.end);
    const data = list.filter((t) => t.begin < t.end);
    for (const t of empty) {
      await sink.begin(t.name, t.shape, tensorOutputDtype(t.name, opts.targetDtype));
      await sink.end(t.name);
    }
    if (data.length > 0) {
      work.push([f.path, data]);
      ctx.total += data[data.length - 1].end - data[0].begin;
    }
  }
  opts.signal?.throwIfAborted();
  for (const [file, tensors] of work) await streamFile(ctx, file, tensors);
}
