/**
 * The main-thread client: createEngine() starts the engine's dedicated worker, loads a model and
 * returns a handle with streaming generate(), an OpenAI-shaped chat.completions.create(), and
 * dispose(). Named errors thrown in the worker arrive here as the same classes.
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink';
import type {
  EngineState,
  GenerateRequest,
  GenerationDelta,
  GenerationResult,
  LoadOptions,
  LoadProgress,
  ModelInfo,
} from '../engine/types';
import { installErrorTransfer, type ModelSpec, type WorkerApi } from '../worker/protocol';
import { EngineStateError, GenerationAbortedError, WorkerStartError } from '../util/errors';
import type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from '../memory/api-types';
import type { RetrievalEvent } from '../memory/provider';
import type { BankStats, BankSummary } from '../memory/store/banks';
import type { StepStats } from '../gpu/step-totals';
import { toGenerateRequest, toUsage, type ChatCompletion, type ChatCompletionChunk, type ChatCompletionRequest } from './openai';
import { DeltaStream } from './stream';

export interface CreateEngineOptions extends LoadOptions {
  /** A model folder URL (e.g. `https://huggingface.co/<repo>/resolve/main/`), `{ url }`, picked `File`s, or `{ files }`. */
  model: ModelSpec | File[] | FileList;
  onProgress?: (p: LoadProgress) => void;
  /** Engine state changes: 'ready', 'busy', 'lost' (GPU device lost: create a new engine), 'disposed'. */
  onStateChange?: (state: EngineState, detail?: string) => void;
  /** Bring your own worker (e.g. a custom bundler setup); it must run memory3-web's worker entry. */
  worker?: Worker;
}

/** Explicit memory banks of this engine's model (IndexedDB, in the engine's worker). */
export interface MemoryApi {
  /** Creates an empty bank; `policy` overrides the model's memory policy (paper defaults otherwise). */
  createBank(name: string, opts?: CreateBankOptions): Promise<BankStats>;
  /** Encodes documents into the bank on the GPU; resumable (re-adding skips what is stored), cancellable. */
  addDocuments(
    bank: string,
    docs: MemoryDocument[],
    opts?: { onProgress?: (p: AddDocumentsProgress) => void; signal?: AbortSignal },
  ): Promise<AddDocumentsResult>;
  list(): Promise<BankSummary[]>;
  delete(name: string): Promise<void>;
  stats(name: string): Promise<BankStats>;
  /** The whole bank as one file, streamed (versioned header, CRC-32 per frame). Save it with e.g. `new Response(stream).blob()`. */
  export(name: string): Promise<ReadableStream<Uint8Array>>;
  /** Imports an exported bank; a truncated or corrupted file is refused (TruncatedFileError / BankFormatError) and leaves nothing behind. */
  import(data: Blob | ReadableStream<Uint8Array>, opts?: { name?: string; overwrite?: boolean }): Promise<BankStats>;
}

export interface GenerationStream extends AsyncIterable<GenerationDelta> {
  /** Resolves with the whole text, tokens, finish reason and usage once generation ends. */
  readonly result: Promise<GenerationResult>;
}

export interface Memory3Engine {
  readonly info: ModelInfo;
  readonly state: EngineState;
  /** Explicit memory: banks of pre-encoded knowledge the model reads while generating (`generate({ memory: { bank } })`). */
  readonly memory: MemoryApi;
  /** `onRetrieval` hears, for each 64-token chunk, which references were retrieved (the memory inspector). */
  generate(req: GenerateRequest & { signal?: AbortSignal; onRetrieval?: (e: RetrievalEvent) => void }): GenerationStream;
  chat: {
    completions: {
      create(req: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
      create(req: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
    };
  };
  /** Logits after feeding `tokens` (cached prefix reused). */
  evaluate(tokens: number[], opts?: { signal?: AbortSignal }): Promise<Float32Array>;
  tokenize(text: string, opts?: { addSpecialTokens?: boolean }): Promise<number[]>;
  detokenize(tokens: number[]): Promise<string>;
  /** Forget the cached conversation (the next request prefills from scratch). */
  resetContext(): Promise<void>;
  /** Releases the GPU memory and terminates the worker. */
  dispose(): Promise<void>;
  /** @internal test hook: destroy the GPU device as a driver reset would. */
  simulateDeviceLoss(): Promise<void>;
  /** @internal soak hook: the GPU buffers the engine holds now, and how many it ever created. */
  debugStats(opts?: { clearWordCache?: boolean }): Promise<{ live: number; liveBytes: number; created: number; tokenizerWords: number }>;
  /** @internal bench hook: per-step counters (dispatches, readback bytes, allocations, encode ms) since the last `reset`. */
  stepStats(opts?: { reset?: boolean }): Promise<StepStats>;
}

function normalizeModel(model: CreateEngineOptions['model']): ModelSpec {
  if (typeof FileList !== 'undefined' && model instanceof FileList) return { files: [...model] };
  if (Array.isArray(model)) return { files: model };
  return model as ModelSpec;
}

export async function createEngine(options: CreateEngineOptions): Promise<Memory3Engine> {
  installErrorTransfer();
  const { model, onProgress, onStateChange, worker: given, ...load } = options;
  const worker = given ?? new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'memory3-engine' });
  const remote = wrap<WorkerApi>(worker);
  let state: EngineState = 'loading';
  const setState = (s: EngineState, detail?: string) => {
    state = s;
    onStateChange?.(s, detail);
  };
  let info: ModelInfo;
  // A worker whose script fails to load never answers: turn its error event into a named error.
  let onError: (e: Event) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onError = (e: Event) =>
      reject(
        new WorkerStartError(
          `the engine worker failed to start: ${(e as ErrorEvent).message || 'its script could not be loaded'} ` +
            "(with Vite 7 dev servers, add optimizeDeps: { exclude: ['memory3-web'] } to your Vite config)",
        ),
      );
    worker.addEventListener('error', onError);
  });
  try {
    info = await Promise.race([
      remote.load(
        { ...load, model: normalizeModel(model) },
        proxy((p: LoadProgress) => onProgress?.(p)),
        proxy(setState),
      ),
      failed,
    ]);
    worker.removeEventListener('error', onError);
  } catch (err) {
    remote[releaseProxy]();
    worker.terminate();
    throw err;
  }
  setState('ready');
  return new EngineHandle(remote, worker, info, () => state, setState);
}

let nextId = 1;
/** How long dispose() waits for the worker to free the GPU before it terminates the worker regardless. */
const disposeWaitMs = 5000;

class EngineHandle implements Memory3Engine {
  readonly chat: Memory3Engine['chat'];
  readonly memory: MemoryApi = {
    createBank: (name, opts = {}) => this.call(() => this.remote.createBank(name, opts)),
    addDocuments: async (bank, docs, opts = {}) => {
      const id = nextId++;
      const abort = () => this.abortRequest(id);
      opts.signal?.addEventListener('abort', abort, { once: true });
      try {
        return await this.call(() =>
          this.remote.addDocuments(
            id,
            bank,
            docs,
            proxy((p: AddDocumentsProgress) => opts.onProgress?.(p)),
          ),
        );
      } finally {
        opts.signal?.removeEventListener('abort', abort);
      }
    },
    list: () => this.call(() => this.remote.listBanks()),
    delete: (name) => this.call(() => this.remote.deleteBank(name)),
    stats: (name) => this.call(() => this.remote.bankStats(name)),
    export: (name) => this.call(() => this.remote.exportBank(name)),
    import: (data, opts = {}) =>
      this.call(() => this.remote.importBank(data instanceof Blob ? data : transfer(data, [data as unknown as Transferable]), opts)),
  };
  /** Rejects (with EngineStateError) when dispose() is called: every request in flight then settles. */
  private readonly disposed: Promise<never>;
  private rejectDisposed!: (err: Error) => void;

  constructor(
    private readonly remote: Remote<WorkerApi>,
    private readonly worker: Worker,
    readonly info: ModelInfo,
    private readonly getState: () => EngineState,
    private readonly setState: (s: EngineState) => void,
  ) {
    this.chat = {
      completions: {
        create: ((req: ChatCompletionRequest) => this.createCompletion(req)) as Memory3Engine['chat']['completions']['create'],
      },
    };
    this.disposed = new Promise<never>((_, reject) => {
      this.rejectDisposed = reject;
    });
    this.disposed.catch(() => {});
  }

  /**
   * Runs a request to the worker: a rejected promise (never a synchronous throw) on a disposed
   * engine, and an EngineStateError for a request still in flight when dispose() is called.
   */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return Promise.race([request(), this.disposed]);
  }

  get state(): EngineState {
    return this.getState();
  }

  generate(req: GenerateRequest & { signal?: AbortSignal; onRetrieval?: (e: RetrievalEvent) => void }): GenerationStream {
    this.assertOpen();
    const { signal, onRetrieval, ...request } = req;
    const id = nextId++;
    const stream = new DeltaStream<GenerationDelta>();
    const abort = () => this.abortRequest(id);
    if (signal?.aborted) {
      const err = new GenerationAbortedError('generation aborted before it started');
      stream.end(err);
      const rejected = Promise.reject(err);
      rejected.catch(() => {});
      return Object.assign(stream, { result: rejected });
    }
    signal?.addEventListener('abort', abort, { once: true });
    const result = this.call(() =>
      this.remote.generate(
        id,
        request,
        proxy((d: GenerationDelta) => stream.push(d)),
        onRetrieval ? proxy((e: RetrievalEvent) => onRetrieval(e)) : undefined,
      ),
    )
      .then(
        (r) => {
          stream.end();
          return r;
        },
        (e) => {
          stream.end(e);
          throw e;
        },
      )
      .finally(() => signal?.removeEventListener('abort', abort));
    result.catch(() => {});
    // A `break` aborts, and the loop ends once the worker has let go of the request (engine free again).
    stream.onCancel = () => {
      abort();
      return result.then(
        () => {},
        () => {},
      );
    };
    return Object.assign(stream, { result });
  }

  private async createCompletion(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const gen = this.generate({ ...toGenerateRequest(req), signal: req.signal });
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000),
      model = this.info.architecture;
    if (!req.stream) {
      const r = await gen.result;
      return {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finishReason, logprobs: null }],
        usage: toUsage(r.usage),
        ...(r.retrievals ? { retrievals: r.retrievals } : {}),
      };
    }
    return (async function* (): AsyncGenerator<ChatCompletionChunk> {
      let first = true;
      for await (const d of gen) {
        yield {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [
            { index: 0, delta: first ? { role: 'assistant', content: d.text } : { content: d.text }, finish_reason: null, logprobs: null },
          ],
        };
        first = false;
      }
      const r = await gen.result;
      yield {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: r.finishReason, logprobs: null }],
        usage: toUsage(r.usage),
        ...(r.retrievals ? { retrievals: r.retrievals } : {}),
      };
    })();
  }

  async evaluate(tokens: number[], opts: { signal?: AbortSignal } = {}): Promise<Float32Array> {
    const id = nextId++;
    const abort = () => this.abortRequest(id);
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      return await this.call(() => this.remote.evaluate(id, tokens));
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
  }

  tokenize(text: string, opts: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    return this.call(() => this.remote.tokenize(text, opts.addSpecialTokens ?? true));
  }
  detokenize(tokens: number[]): Promise<string> {
    return this.call(() => this.remote.detokenize(tokens));
  }
  resetContext(): Promise<void> {
    return this.call(() => this.remote.resetContext());
  }
  simulateDeviceLoss(): Promise<void> {
    return this.call(() => this.remote.simulateDeviceLoss());
  }
  debugStats(opts?: { clearWordCache?: boolean }): Promise<{ live: number; liveBytes: number; created: number; tokenizerWords: number }> {
    return this.call(() => this.remote.debugStats(opts));
  }
  stepStats(opts?: { reset?: boolean }): Promise<StepStats> {
    return this.call(() => this.remote.stepStats(opts));
  }

  /**
   * Frees the GPU memory and terminates the worker. Requests still in flight reject with
   * EngineStateError; a worker that does not answer within a few seconds (crashed) is terminated anyway.
   */
  async dispose(): Promise<void> {
    if (this.getState() === 'disposed' || this.disposing) return;
    this.disposing = true;
    this.rejectDisposed(new EngineStateError('the engine was disposed while this request was running', { reason: 'disposed' }));
    const answered = this.remote.dispose().catch(() => {
      /* the worker may already be gone (device lost) */
    });
    await Promise.race([answered, new Promise((r) => setTimeout(r, disposeWaitMs))]);
    this.remote[releaseProxy]();
    this.worker.terminate();
    this.setState('disposed');
  }

  private disposing = false;

  /** Asks the worker to abort request `id` (nothing to do once the engine is disposed). */
  private abortRequest(id: number): void {
    if (this.getState() === 'disposed') return;
    this.remote.abort(id).catch(() => {});
  }

  private assertOpen(): void {
    if (this.getState() === 'disposed' || this.disposing)
      throw new EngineStateError('this engine was disposed; create a new one', { reason: 'disposed' });
  }
}
