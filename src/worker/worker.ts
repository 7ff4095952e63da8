/// <reference lib="webworker" />
/**
 * The engine's dedicated Web Worker: owns the GPU device and the Engine, exposed with comlink.
 * One request runs at a time; aborts arrive by request id (AbortSignals cannot cross threads).
 */
import { expose, transfer } from 'comlink';
import { Engine } from '../engine/engine';
import { stepStats } from '../engine/step-stats';
import { fileSource, urlSource, type ModelSource } from '../model/source';
import { bankStats, deleteBank, exportBank, importBank, listBanks } from '../memory/store';
import { applyChatTemplate } from '../tokenizer/chat-template';
import { EngineStateError, InvalidOptionsError } from '../util/errors';
import { installErrorTransfer, type ModelSpec, type WorkerApi } from './protocol';

installErrorTransfer();

let engine: Engine | null = null;
const controllers = new Map<number, AbortController>();

function sourceOf(spec: ModelSpec): ModelSource {
  if (typeof spec === 'string') return urlSource(new URL(spec, self.location.href).href);
  if (spec && typeof spec === 'object' && 'url' in spec) return urlSource(new URL(spec.url, self.location.href).href);
  if (spec && typeof spec === 'object' && 'files' in spec && spec.files.length > 0) return fileSource(spec.files);
  throw new InvalidOptionsError('model must be a folder URL, { url }, or { files } with at least one File');
}

function current(): Engine {
  if (!engine) throw new EngineStateError('no model is loaded: call load() first');
  return engine;
}

/**
 * Calls a page callback (a comlink proxy) without waiting, but keeps the last call's promise so
 * the request can wait for every callback to land before it resolves: callbacks travel on their
 * own MessagePort, and the page must not see the result before the last delta or progress event.
 */
function relay<A>(cb: (a: A) => unknown): { send: (a: A) => void; drain: () => Promise<void> } {
  let last: Promise<unknown> = Promise.resolve();
  return {
    send: (a) => {
      last = Promise.resolve(cb(a)).catch(() => {});
    },
    drain: async () => {
      await last;
    },
  };
}

async function withAbort<T>(id: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  controllers.set(id, ctl);
  try {
    return await fn(ctl.signal);
  } finally {
    controllers.delete(id);
  }
}

const api: WorkerApi = {
  async load(req, onProgress, onState) {
    if (engine) {
      engine.dispose();
      engine = null;
    }
    const { model, ...opts } = req;
    const progress = relay(onProgress);
    engine = await Engine.load(sourceOf(model), opts, progress.send, (s, d) => void onState(s, d));
    await progress.drain();
    return engine.info;
  },
  generate: (id, req, onDelta, onRetrieval) =>
    withAbort(id, async (signal) => {
      const deltas = relay(onDelta),
        retrievals = relay(onRetrieval ?? (() => {}));
      try {
        return await current().generate(req, deltas.send, signal, onRetrieval ? retrievals.send : undefined);
      } finally {
        await deltas.drain();
        await retrievals.drain();
      }
    }),
  createBank: (name, opts) => current().memory.createBank(name, opts),
  addDocuments: (id, bank, docs, onProgress) =>
    withAbort(id, async (signal) => {
      const progress = relay(onProgress);
      try {
        return await current().memory.addDocuments(bank, docs, progress.send, signal);
      } finally {
        await progress.drain();
      }
    }),
  listBanks: () => listBanks(),
  deleteBank: (name) => deleteBank(name),
  bankStats: (name) => bankStats(name),
  async exportBank(name) {
    const stream = exportBank(name);
    return transfer(stream, [stream as unknown as Transferable]);
  },
  async importBank(data, opts) {
    const store = await importBank(data, opts);
    const name = store.name;
    store.close();
    return bankStats(name);
  },
  abort(id) {
    controllers.get(id)?.abort();
  },
  evaluate: (id, tokens) => withAbort(id, async (signal) => Float32Array.from(await current().evaluate(tokens, signal))),
  async tokenize(text, addSpecialTokens) {
    return current().tokenizer.encode(text, { addSpecialTokens });
  },
  async detokenize(tokens) {
    return current().tokenizer.decode(tokens, { skipSpecialTokens: false });
  },
  async applyChatTemplate(messages) {
    const t = current().tokenizer;
    return applyChatTemplate(t.chatTemplate as never, messages as never, {
      addGenerationPrompt: true,
      bosToken: t.bosToken,
      eosToken: t.eosToken,
    });
  },
  async resetContext() {
    current().resetContext();
  },
  async cachedTokenCount() {
    return current().cachedTokens.length;
  },
  async simulateDeviceLoss() {
    current().simulateDeviceLoss();
  },
  async debugStats(opts?: { clearWordCache?: boolean }) {
    const e = current();
    const tokenizerWords = e.tokenizer.cachedWords;
    if (opts?.clearWordCache) e.tokenizer.clearWordCache();
    return { ...e.bufferTally, tokenizerWords };
  },
  async stepStats(opts?: { reset?: boolean }) {
    return stepStats(current(), opts?.reset === true);
  },
  async dispose() {
    engine?.dispose();
    engine = null;
  },
};

expose(api);
