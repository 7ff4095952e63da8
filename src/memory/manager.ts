/**
 * Explicit memory's bank operations for one loaded model: create a bank, encode documents into it
 * (batched on the GPU, resumable, cancellable, with progress), and open a bank as the
 * MemoryProvider generation reads from. Lives in the engine's worker beside the Engine.
 */
import type { KernelRunner } from '../gpu/runner';
import type { ModelConfig } from '../model/config';
import type { LlamaModel } from '../model/llama';
import { EncodingAbortedError, InvalidOptionsError } from '../util/errors';
import { BankProvider } from './bank-provider';
import { packCodebooks, unpackCodebooks } from './bank-codec';
import { encodeRecord, trainRecordCodec, type RecordCodec } from './codec';
import { inferenceKnobs, policyFingerprint, policyFromConfig, resolvePolicy } from './policy';
import { prefixTokens, splitIntoReferences, type TokenizedReference } from './references';
import { BankRetriever } from './bank-retriever';
import { Tokenizer } from '../tokenizer/tokenizer';
import { BankStore } from './store/bank-store';
import { bankStats, type BankStats } from './store/banks';
import type { MemoryPolicy, MemoryRecordData, MemoryShape } from './types';
import { MemoryWriter } from './writer';
import type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from './api-types';

export type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from './api-types';

/** What the manager needs from the engine (memory sits below engine and cannot import it). */
export interface MemoryHost {
  readonly model: LlamaModel;
  readonly runner: KernelRunner;
  readonly tokenizer: Tokenizer;
  readonly modelFingerprint: string;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

const makeTokenizer = (json: unknown) => Tokenizer.fromJSON(json, null);

/** Records encoded per GPU batch (one submit and one readback each) and per IndexedDB transaction. */
const batchSize = 8;
/** Vectors sampled to train PQ codebooks when a bank's codec uses 'pq'. */
const pqTrainingRecords = 64;

async function hashText(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d).slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class MemoryManager {
  private writer: { key: string; writer: MemoryWriter } | null = null;

  constructor(private readonly host: MemoryHost) {
    policyFromConfig(this.cfg.memory3); // a config.json memory3 block with an unknown knob fails the load
  }

  private get cfg(): ModelConfig {
    return this.host.model.cfg;
  }

  /** The policy for a bank: paper defaults ← the model's config.json `memory3` block ← overrides. */
  policy(overrides: Partial<MemoryPolicy> = {}): MemoryPolicy {
    return resolvePolicy(this.cfg, policyFromConfig(this.cfg.memory3), overrides);
  }

  shape(p: MemoryPolicy): MemoryShape {
    return { memLayers: p.memoryLayers.length, memHeads: p.memoryHeads.length, tokensPerHead: p.tokensPerHead, headDim: this.cfg.headDim };
  }

  async createBank(name: string, opts: CreateBankOptions = {}): Promise<BankStats> {
    const policy = this.policy(opts.policy);
    const retrieverState = await BankRetriever.initialState(opts.retriever, makeTokenizer);
    const store = await BankStore.create(
      name,
      {
        modelFingerprint: this.host.modelFingerprint,
        policy,
        codec: policy.codec,
        shape: this.shape(policy),
        retrieverState,
      },
      { overwrite: opts.overwrite },
    );
    store.close();
    return bankStats(name);
  }

  /** Opens a bank written by this model, or fails with BankMismatchError / BankNotFoundError. */
  async open(name: string): Promise<BankStore> {
    return BankStore.open(name, { modelFingerprint: this.host.modelFingerprint });
  }

  private writerFor(policy: MemoryPolicy): MemoryWriter {
    const key = policyFingerprint(policy);
    if (this.writer?.key !== key) {
      this.writer?.writer.destroy();
      this.writer = { key, writer: new MemoryWriter(this.host.model, this.host.runner, this.host.tokenizer, policy) };
    }
    return this.writer.writer;
  }

  /**
   * Cuts documents into references, encodes them on the GPU and stores them, one transaction per
   * batch. A document already complete (same text hash) is skipped; one stopped half-way continues
   * after its stored references, so an interrupted run resumes without duplicates.
   */
  async addDocuments(
    bank: string,
    docs: MemoryDocument[],
    onProgress: (p: AddDocumentsProgress) => void = () => {},
    signal?: AbortSignal,
  ): Promise<AddDocumentsResult> {
    if (!Array.isArray(docs)) throw new InvalidOptionsError('addDocuments takes an array of { source, text }');
    const t0 = performance.now();
    const store = await this.open(bank);
    try {
      return await this.encodeInto(store, docs, onProgress, signal, t0);
    } catch (err) {
      if (signal?.aborted) {
        throw new EncodingAbortedError(
          `encoding into bank "${bank}" was cancelled; stored references are kept and adding the same documents again resumes`,
          { bank },
        );
      }
      throw err;
    } finally {
      store.close();
    }
  }

  /** Plans, then encodes and stores batch after batch; the index is saved however it ends. */
  private async encodeInto(
    store: BankStore,
    docs: MemoryDocument[],
    onProgress: (p: AddDocumentsProgress) => void,
    signal: AbortSignal | undefined,
    t0: number,
  ): Promise<AddDocumentsResult> {
    const progress: AddDocumentsProgress = {
      phase: 'split',
      documents: docs.length,
      documentsDone: 0,
      references: 0,
      referencesDone: 0,
      referencesResumed: 0,
    };
    const codec = unpackCodebooks(store.meta.codec, store.meta.shape, store.meta.codebooks);
    const run: EncodeRun = { store, codec, retriever: await BankRetriever.open(store, makeTokenizer), batches: 0 };
    try {
      const work = await this.plan(run, docs, progress);
      progress.phase = 'encode';
      onProgress({ ...progress });
      const writer = this.writerFor(store.meta.policy);
      for (const w of work) {
        for (let i = 0; i < w.refs.length; i += batchSize) {
          signal?.throwIfAborted();
          const batch = w.refs.slice(i, i + batchSize);
          const data = await this.encodeBatch(run, writer, batch, signal);
          await this.storeBatch(run, w, batch, data, i + batchSize >= w.refs.length);
          progress.referencesDone += batch.length;
          onProgress({ ...progress });
        }
        if (w.refs.length === 0) await store.putBatch([], { source: w.doc.source, status: 'done', hash: w.hash });
        progress.documentsDone++;
      }
    } finally {
      // Whatever was stored is searchable, also after an abort or an error.
      if (!store.closed) await this.saveIndex(store, run.retriever);
      run.retriever.close();
    }
    progress.phase = 'done';
    onProgress({ ...progress });
    const ms = performance.now() - t0;
    return {
      references: progress.referencesDone,
      resumed: progress.referencesResumed,
      documents: docs.length,
      ms,
      referencesPerSecond: progress.referencesDone / Math.max(1e-3, ms / 1000),
    };
  }

  /**
   * Splits each document into references and decides what is left to do: a document already done
   * (same text hash) is skipped, one stopped half-way resumes after its stored references, one whose
   * text changed is deleted and starts over.
   */
  private async plan(run: EncodeRun, docs: MemoryDocument[], progress: AddDocumentsProgress): Promise<DocumentWork[]> {
    const { store, retriever } = run,
      policy = store.meta.policy;
    const work: DocumentWork[] = [];
    for (const doc of docs) {
      if (typeof doc?.source !== 'string' || typeof doc?.text !== 'string')
        throw new InvalidOptionsError('each document needs string `source` and `text`');
      const hash = await hashText(doc.text);
      const status = await store.documentStatus(doc.source);
      if (status?.status === 'done' && status.hash === hash) {
        progress.documentsDone++;
        progress.referencesResumed += status.referenceIds.length;
        continue;
      }
      let refs = splitIntoReferences(this.host.tokenizer, doc.source, doc.text, policy, 0);
      if (status && status.hash === hash) {
        progress.referencesResumed += status.referenceIds.length;
        refs = refs.slice(status.referenceIds.length);
      } else if (status) {
        retriever.remove(status.referenceIds);
        await store.deleteDocument(doc.source);
      }
      work.push({ doc, hash, refs });
      progress.references += refs.length;
    }
    return work;
  }

  /** Memory records of one batch, encoded on the GPU; the first batch of a PQ bank trains its codebooks. */
  private async encodeBatch(
    run: EncodeRun,
    writer: MemoryWriter,
    batch: TokenizedReference[],
    signal?: AbortSignal,
  ): Promise<MemoryRecordData[]> {
    const data = await this.host.exclusive(() =>
      writer.encode(
        batch.map((r) => r.tokens),
        signal,
      ),
    );
    if (needsTraining(run.codec)) run.codec = await this.trainCodec(run.store, run.codec, data);
    return data;
  }

  /** Embeds, stores (one transaction, with the document's status) and indexes one batch; saves the index every 16 batches. */
  private async storeBatch(
    run: EncodeRun,
    w: DocumentWork,
    batch: TokenizedReference[],
    data: MemoryRecordData[],
    last: boolean,
  ): Promise<void> {
    const texts = batch.map((r) => r.text),
      vectors = await run.retriever.embed(texts);
    const ids = await run.store.putBatch(
      batch.map((r, j) => ({
        reference: { source: r.source, text: r.text, start: r.start, end: r.end, tokenCount: r.tokenCount, tokens: r.tokens },
        record: { payload: encodeRecord(run.codec, data[j]), positions: data[j].positions },
        ...(vectors ? { vector: vectors[j] } : {}),
      })),
      { source: w.doc.source, status: last ? 'done' : 'partial', hash: w.hash },
    );
    await run.retriever.add(ids, texts, vectors);
    if (++run.batches % 16 === 0) await this.saveIndex(run.store, run.retriever);
  }

  /** Trains PQ codebooks on the first records of a bank and stores them with the bank. */
  private async trainCodec(
    store: BankStore,
    codec: RecordCodec,
    data: { keys: Float32Array; values: Float32Array }[],
  ): Promise<RecordCodec> {
    const take = data.slice(0, pqTrainingRecords);
    const cat = (part: 'keys' | 'values') => {
      const out = new Float32Array(take.reduce((n, d) => n + d[part].length, 0));
      let at = 0;
      for (const d of take) {
        out.set(d[part], at);
        at += d[part].length;
      }
      return out;
    };
    const trained = trainRecordCodec(codec.spec, codec.shape, { keys: cat('keys'), values: cat('values') }, { seed: 1 });
    await store.updateMeta({ codebooks: packCodebooks(trained) });
    return trained;
  }

  private async saveIndex(store: BankStore, retriever: BankRetriever): Promise<void> {
    await store.updateMeta({ retrieverState: retriever.state() });
  }

  /** A provider for generation from `bank`; inference-time overrides only (the stored shape is fixed). */
  async provider(bank: string, overrides: Partial<MemoryPolicy> = {}): Promise<{ provider: BankProvider; prefixIds: number[] }> {
    for (const k of Object.keys(overrides)) {
      if ((inferenceKnobs as readonly string[]).includes(k)) continue;
      const why = k in this.policy() ? `is fixed by the bank "${bank}" (it was encoded with it)` : 'is not a memory policy knob';
      throw new InvalidOptionsError(`memory policy: ${k} ${why}; only ${inferenceKnobs.join(', ')} can change at generation`, {
        option: k,
      });
    }
    const store = await this.open(bank);
    const policy = resolvePolicy(this.cfg, store.meta.policy, overrides);
    const codec = unpackCodebooks(store.meta.codec, store.meta.shape, store.meta.codebooks);
    const retriever = await BankRetriever.open(store, makeTokenizer);
    const provider = new BankProvider(store, policy, codec, retriever, this.host.tokenizer);
    return { provider, prefixIds: prefixTokens(this.host.tokenizer, policy) };
  }

  destroy(): void {
    this.writer?.writer.destroy();
    this.writer = null;
  }
}

/** One addDocuments call's open bank, its retriever and codec (PQ codebooks arrive with the first batch). */
interface EncodeRun {
  store: BankStore;
  retriever: BankRetriever;
  codec: RecordCodec;
  batches: number;
}

/** A document still to encode: its references after any already stored. */
interface DocumentWork {
  doc: MemoryDocument;
  hash: string;
  refs: TokenizedReference[];
}

function needsTraining(c: RecordCodec): boolean {
  return (c.spec.keys === 'pq' && !c.keyBooks) || (c.spec.values === 'pq' && !c.valueBooks);
}
