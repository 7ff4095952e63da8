/**
 * The main-thread client: createEngine() starts the engine's dedicated worker, loads a model and
 * returns a handle with streaming generate(), an OpenAI-shaped chat.completions.create(), and
 * dispose(). Named errors thrown in the worker arrive here as the same classes.
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink';
import type { EngineState, GenerateRequest, GenerationDelta, GenerationResult, LoadOptions, LoadProgress, ModelInfo } from '../engine/types';
import { installErrorTransfer, type ModelSpec, type WorkerApi } from '../worker/protocol';
import { EngineStateError, GenerationAbortedError, WorkerStartError } from '../util/errors';
import type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from '../memory/api-types';
import type { RetrievalEvent } from '../memory/provider';
import type { BankStats, BankSummary } from '../memory/store/banks';
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
  addDocuments(bank: string, docs: MemoryDocument[], opts?: { onProgress?: (p: AddDocumentsProgress) => void; signal?: AbortSignal }): Promise<AddDocumentsResult>;
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
  const setState = (s: EngineState, detail?: string) => { state = s; onStateChange?.(s, detail); };
  let info: ModelInfo;
  // A worker whose script fails to load never answers: turn its error event into a named error.
  let onError: (e: Event) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onError = (e: Event) => reject(new WorkerStartError(`the engine worker failed to start: ${(e as ErrorEvent).message || 'its script could not be loaded'} ` +
      '(with Vite 7 dev servers, add optimizeDeps: { exclude: [\'memory3-web\'] } to your Vite config)'));
    worker.addEventListener('error', onError);
  });
  try {
    info = await Promise.race([remote.load({ ...load, model: normalizeModel(model) }, proxy((p: LoadProgress) => onProgress?.(p)), proxy(setState)), failed]);
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

class EngineHandle implements Memory3Engine {
  readonly chat: Memory3Engine['chat'];
  readonly memory: MemoryApi = {
    createBank: (name, opts = {}) => { this.assertOpen(); return this.remote.createBank(name, opts); },
    addDocuments: async (bank, docs, opts = {}) => {
      this.assertOpen();
      const id = nextId++;
      const abort = () => void this.remote.abort(id);
      opts.signal?.addEventListener('abort', abort, { once: true });
      try {
        return await this.remote.addDocuments(id, bank, docs, proxy((p: AddDocumentsProgress) => opts.onProgress?.(p)));
      } finally { opts.signal?.removeEventListener('abort', abort); }
    },
    list: () => this.remote.listBanks(),
    delete: (name) => this.remote.deleteBank(name),
    stats: (name) => this.remote.bankStats(name),
    export: (name) => this.remote.exportBank(name),
    import: (data, opts = {}) => this.remote.importBank(data instanceof Blob ? data : transfer(data, [data as unknown as Transferable]), opts),
  };

  constructor(
    private readonly remote: Remote<WorkerApi>, private readonly worker: Worker, readonly info: ModelInfo,
    private readonly getState: () => EngineState, private readonly setState: (s: EngineState) => void,
  ) {
    this.chat = { completions: { create: ((req: ChatCompletionRequest) => this.createCompletion(req)) as Memory3Engine['chat']['completions']['create'] } };
  }

  get state(): EngineState { return this.getState(); }

  generate(req: GenerateRequest & { signal?: AbortSignal; onRetrieval?: (e: RetrievalEvent) => void }): GenerationStream {
    this.assertOpen();
    const { signal, onRetrieval, ...request } = req;
    const id = nextId++;
    const stream = new DeltaStream<GenerationDelta>();
    const abort = () => void this.remote.abort(id);
    if (signal?.aborted) {
      const err = new GenerationAbortedError('generation aborted before it started');
      stream.end(err);
      const rejected = Promise.reject(err);
      rejected.catch(() => {});
      return Object.assign(stream, { result: rejected });
    }
    signal?.addEventListener('abort', abort, { once: true });
    stream.onCancel = abort;
    const result = this.remote.generate(id, request, proxy((d: GenerationDelta) => stream.push(d)),
      onRetrieval ? proxy((e: RetrievalEvent) => onRetrieval(e)) : undefined)
      .then((r) => { stream.end(); return r; }, (e) => { stream.end(e); throw e; })
      .finally(() => signal?.removeEventListener('abort', abort));
    result.catch(() => {});
    return Object.assign(stream, { result });
  }

  private async createCompletion(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const gen = this.generate({ ...toGenerateRequest(req), signal: req.signal });
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000), model = this.info.architecture;
    if (!req.stream) {
      const r = await gen.result;
      return {
        id, object: 'chat.completion', created, model,
        choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finishReason, logprobs: null }],
        usage: toUsage(r.usage),
        ...(r.retrievals ? { retrievals: r.retrievals } : {}),
      };
    }
    return (async function* (): AsyncGenerator<ChatCompletionChunk> {
      let first = true;
      for await (const d of gen) {
        yield { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: first ? { role: 'assistant', content: d.text } : { content: d.text }, finish_reason: null, logprobs: null }] };
        first = false;
      }
      const r = await gen.result;
      yield {
        id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: r.finishReason, logprobs: null }],
        usage: toUsage(r.usage), ...(r.retrievals ? { retrievals: r.retrievals } : {}),
      };
    })();
  }

  async evaluate(tokens: number[], opts: { signal?: AbortSignal } = {}): Promise<Float32Array> {
    this.assertOpen();
    const id = nextId++;
    const abort = () => void this.remote.abort(id);
    opts.signal?.addEventListener('abort', abort, { once: true });
    try { return await this.remote.evaluate(id, tokens); } finally { opts.signal?.removeEventListener('abort', abort); }
  }

  tokenize(text: string, opts: { addSpecialTokens?: boolean } = {}): Promise<number[]> { this.assertOpen(); return this.remote.tokenize(text, opts.addSpecialTokens ?? true); }
  detokenize(tokens: number[]): Promise<string> { this.assertOpen(); return this.remote.detokenize(tokens); }
  resetContext(): Promise<void> { this.assertOpen(); return this.remote.resetContext(); }
  simulateDeviceLoss(): Promise<void> { return this.remote.simulateDeviceLoss(); }

  async dispose(): Promise<void> {
    if (this.getState() === 'disposed') return;
    try { await this.remote.dispose(); } catch { /* the worker may already be gone (device lost) */ }
    this.remote[releaseProxy]();
    this.worker.terminate();
    this.setState('disposed');
  }

  private assertOpen(): void {
    if (this.getState() === 'disposed') throw new EngineStateError('this engine was disposed; create a new one');
  }
}
