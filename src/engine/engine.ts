/**
 * One inference session: a loaded model on a GPU device, its KV cache, tokenizer and sampler.
 * It runs in the Web Worker (src/worker); nothing here touches the DOM. A step is one command
 * encoder with the whole forward pass and a one-row logits readback.
 */
import { requestGpu, type BufferTally, type GpuContext } from '../gpu/device';
import type { PipelineSpec } from '../gpu/pipelines';
import { KernelRunner } from '../gpu/runner';
import { samplePipeline } from '../kernels/sample';
import { contextLimit } from '../model/config';
import { LlamaModel } from '../model/llama';
import type { MemoryProvider, RetrievalEvent } from '../memory/provider';
import { MemorySlots } from '../memory/slots';
import { MemoryManager } from '../memory/manager';
import type { MemoryPolicy } from '../memory/types';
import type { ModelSource } from '../model/source';
import type { Tokenizer } from '../tokenizer/tokenizer';
import {
  DeviceLostError,
  EngineStateError,
  GenerationAbortedError,
  GPUExecutionError,
  InvalidOptionsError,
  Memory3Error,
} from '../util/errors';
import { runGeneration } from './generate';
import { GpuSampler } from './gpu-sampler';
import { MemoryFeeder } from './memory-feeder';
import { loadDescriptors, loadWeights } from './load';
import { Session, type SessionDebug, type StepOptions } from './session';
import type { EngineState, GenerateRequest, GenerationDelta, GenerationResult, LoadOptions, LoadProgress, ModelInfo } from './types';
import type { GpuWeightSink } from '../model/weights';

export class Engine {
  /** Explicit memory banks for this model (create, add documents, open for generation). */
  readonly memory: MemoryManager;
  /** The conversation: KV cache and its tag, append, last logits, last chat turn. The only one. */
  private readonly session: Session;
  private stateValue: EngineState = 'ready';
  private gpuError: GPUError | null = null;
  private lostMessage: string | null = null;
  private readonly staging: GPUBuffer; // (vocab) f32, MAP_READ: the one-row readback
  private readonly gpuSampler: GpuSampler; // made at load, reused by every GPU-sampled step

  private constructor(
    private readonly gpu: GpuContext,
    readonly model: LlamaModel,
    readonly tokenizer: Tokenizer,
    private readonly run: KernelRunner,
    private readonly sink: GpuWeightSink,
    readonly info: ModelInfo,
    private readonly onState: (s: EngineState, detail?: string) => void,
    /** SHA-256 of the weights' names, shapes and first bytes: banks are tied to it. */
    readonly modelFingerprint: string,
  ) {
    this.memory = new MemoryManager(this);
    const v = model.cfg.vocabSize;
    this.staging = gpu.device.createBuffer({
      label: 'logits.readback',
      size: v * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.gpuSampler = new GpuSampler(gpu.device, v, model.kv.contextLength);
    this.session = new Session(model.kv, tokenizer, v, model.cfg.maxPositionEmbeddings, model.maxChunk, (ids, startPos, logits, opts) =>
      this.step(ids, startPos, logits, opts),
    );
  }

  static async load(
    source: ModelSource,
    opts: LoadOptions = {},
    onProgress: (p: LoadProgress) => void = () => {},
    onState: (s: EngineState, detail?: string) => void = () => {},
    signal?: AbortSignal,
  ): Promise<Engine> {
    if (opts.kvCacheDtype !== undefined && opts.kvCacheDtype !== 'f32' && opts.kvCacheDtype !== 'f16') {
      throw new InvalidOptionsError(`kvCacheDtype must be 'f32' or 'f16', got ${String(opts.kvCacheDtype)}`);
    }
    onProgress({ phase: 'config', loaded: 0, total: 1, message: `Reading model descriptors from ${source.description}` });
    const descriptors = await loadDescriptors(source);
    const { config, tokenizer } = descriptors;
    let engine: Engine | null = null;
    const gpu = await requestGpu({
      onLost: (info) => engine?.deviceLost(info.message || info.reason),
      onUncapturedError: (e) => {
        if (engine) engine.gpuError ??= e;
      },
    });
    const contextLength = Math.min(opts.contextLength ?? 2048, contextLimit(config));
    const { weights, dtype, sink, fingerprint } = await loadWeights(gpu.device, source, descriptors, opts, onProgress, signal);
    const chunk = Math.max(1, Math.min(opts.prefillChunk ?? 128, contextLength));
    const model = new LlamaModel(gpu.device, config, weights, contextLength, chunk, opts.kvCacheDtype);
    const run = new KernelRunner(gpu.device);
    const info: ModelInfo = {
      family: config.family,
      architecture: config.architecture,
      numLayers: config.numLayers,
      hiddenSize: config.hiddenSize,
      numHeads: config.numHeads,
      numKvHeads: config.numKvHeads,
      headDim: config.headDim,
      vocabSize: config.vocabSize,
      contextLength,
      weightDtype: dtype,
      weightFormats: Object.fromEntries(sink.formatBytes),
      format: descriptors.gguf ? 'gguf' : 'safetensors',
      gpuBytes: { weights: weights.bytes, kvCache: model.kv.bytes, activations: model.activationBytes },
      weightBuffers: sink.bufferCount,
      adapter: { ...gpu.adapterInfo, shaderF16: gpu.features.f16 },
      hasChatTemplate: tokenizer.chatTemplate != null,
    };
    engine = new Engine(gpu, model, tokenizer, run, sink, info, onState, fingerprint);
    const specs = engine.stepPipelines();
    await run.pipelines.compile(specs, (loaded, total) =>
      onProgress({ phase: 'compile', loaded, total, message: `Compiling GPU kernels (${loaded}/${total})` }),
    );
    await engine.warmUp();
    onProgress({ phase: 'ready', loaded: 1, total: 1, message: 'Ready' });
    return engine;
  }

  get state(): EngineState {
    return this.stateValue;
  }
  /** The device and runner, for the memory writer, which records on them between requests. */
  get gpuDevice(): GPUDevice {
    return this.gpu.device;
  }
  get runner(): KernelRunner {
    return this.run;
  }
  get contextLength(): number {
    return this.session.contextLength;
  }
  get cachedTokens(): readonly number[] {
    return this.session.kv.tokens;
  }
  /** Debug switches and counters (force the CPU sampler; bytes read back per step). */
  get debug(): SessionDebug {
    return this.session.debug;
  }

  /** The logits of the last fed token (valid until the next step). */
  get lastLogits(): Float32Array {
    return this.session.logits;
  }

  /**
   * Logits after feeding `ids` (the KV of any prefix already cached is reused; the rest is
   * prefilled in chunks). Returns the last position's logits; the array is reused by the next call.
   */
  async evaluate(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    return this.exclusive(async () => (await this.session.feed(ids, signal)).logits);
  }

  /** Generates from a request; `onDelta` receives text as it becomes final, `onRetrieval` each chunk's memories. */
  async generate(
    req: GenerateRequest,
    onDelta: (d: GenerationDelta) => void = () => {},
    signal?: AbortSignal,
    onRetrieval: (e: RetrievalEvent) => void = () => {},
  ): Promise<GenerationResult> {
    if (!req.memory) return this.exclusive(() => runGeneration(this.session, req, onDelta, signal));
    if (typeof req.memory.bank !== 'string') throw new InvalidOptionsError('memory.bank must be the name of a bank');
    const { provider, prefixIds } = await this.memory.provider(req.memory.bank, req.memory.policy ?? {});
    try {
      return await this.generateWith(req, provider, prefixIds, onDelta, onRetrieval, signal);
    } finally {
      provider.close();
    }
  }

  /**
   * Generates with explicit memory from `provider`: `prefixIds` (the reference prefix in tokens)
   * go before the prompt; `onRetrieval` hears of every chunk's memories.
   */
  async generateWith(
    req: GenerateRequest,
    provider: MemoryProvider,
    prefixIds: readonly number[],
    onDelta: (d: GenerationDelta) => void = () => {},
    onRetrieval: (e: RetrievalEvent) => void = () => {},
    signal?: AbortSignal,
  ): Promise<GenerationResult & { retrievals: RetrievalEvent[] }> {
    return this.exclusive(async () => {
      const feeder = new MemoryFeeder(this.session, provider, this.slotsFor(provider.policy), prefixIds, onRetrieval);
      let result: GenerationResult;
      try {
        result = await runGeneration(this.session, req, onDelta, signal, feeder, prefixIds.length);
      } finally {
        await feeder.settle();
      }
      // A decode chunk's span was announced with its nominal end; the result gives the real one.
      const retrievals = feeder.events.map((e) =>
        e.phase === 'decode' ? { ...e, span: [e.span[0], Math.min(e.span[1], result.tokens.length)] as [number, number] } : e,
      );
      return { ...result, retrievals };
    });
  }

  private slots: { key: string; slots: MemorySlots } | null = null;
  /** Memory slot buffers for a policy, allocated once and kept while the policy's shape is the same. */
  private slotsFor(policy: MemoryPolicy): MemorySlots {
    const key = JSON.stringify([
      policy.memoryLayers,
      policy.memoryHeads,
      policy.memoriesPerRetrieval,
      policy.tokensPerHead,
      policy.positionScheme,
      policy.referenceLength,
    ]);
    if (this.slots?.key !== key) {
      this.slots?.slots.destroy();
      this.slots = { key, slots: new MemorySlots(this.gpu.device, this.model.cfg, policy, (l) => this.model.layerInvFreq(l)) };
    }
    return this.slots.slots;
  }

  /** Forgets the cached context (the next call prefills from scratch). */
  resetContext(): void {
    this.session.reset();
  }

  /**
   * Runs one forward step of `ids` at `startPos`; reads the last row's logits back into `logits`
   * when given, or with `opts.sample` samples on the GPU and reads back only the token id (returned).
   */
  private async step(
    ids: readonly number[],
    startPos: number,
    logits: Float32Array | null,
    opts: StepOptions = {},
  ): Promise<number | undefined> {
    this.checkUsable();
    if (!opts.tokenOnGpu) this.model.writeTokens(ids);
    if (opts.sample) this.gpuSampler.prepare(opts.sample);
    this.run.begin('forward', ids.length === 1 ? 'decode' : 'prefill');
    let staging: GPUBuffer | null = null;
    try {
      // Chunks before a prompt's last need no logits: no final norm, LM head or readback.
      const needLogits = opts.sample !== undefined || logits !== null;
      this.model.record(this.run, ids.length, startPos, { memory: opts.memory, positionOffset: opts.positionOffset, logits: needLogits });
      if (opts.sample) staging = this.gpuSampler.record(this.run, this.model.logits, opts.sample, this.model.tokens);
      else if (logits) this.run.copy(this.model.logits, 0, this.staging, 0, logits.byteLength);
    } catch (err) {
      this.run.abandon();
      throw err;
    }
    this.run.submit();
    let token: number | undefined;
    if (staging) {
      token = await GpuSampler.read(staging, (b) => this.mapReadback(b));
      this.session.debug.readbackBytes += 8;
      this.run.counters.readback(8);
    } else if (logits) {
      await this.mapReadback(this.staging);
      logits.set(new Float32Array(this.staging.getMappedRange()));
      this.staging.unmap();
      this.session.debug.readbackBytes += logits.byteLength;
      this.run.counters.readback(logits.byteLength);
    }
    this.checkUsable();
    return token;
  }

  private async mapReadback(buf: GPUBuffer): Promise<void> {
    try {
      await buf.mapAsync(GPUMapMode.READ);
    } catch (err) {
      this.checkUsable();
      throw new GPUExecutionError(`reading ${buf.label} back failed: ${(err as Error).message}`);
    }
  }

  /**
   * Every pipeline a step can use: a dry run (specs collected, nothing recorded or written, so
   * the KV cache and activations are untouched) of each chunk length 1..maxChunk, at the start of
   * the context and at its end (attention splits over many keys there). Memory slots bind in
   * place of a dummy buffer, so they add no variant. Also the GPU sampler's pipeline (and its buffers).
   */
  private stepPipelines(): PipelineSpec[] {
    const specs = new Map<string, PipelineSpec>([[samplePipeline.key, samplePipeline]]);
    const ctx = this.model.kv.contextLength;
    for (let m = 1; m <= this.model.maxChunk; m++) {
      for (const startPos of new Set([0, Math.max(0, ctx - m)])) {
        this.run.beginDry();
        try {
          this.model.record(this.run, m, startPos);
        } finally {
          for (const spec of this.run.endDry()) specs.set(spec.key, spec);
        }
      }
    }
    return [...specs.values()];
  }

  private async warmUp(): Promise<void> {
    const bos = this.tokenizer.bosTokenId ?? 0;
    this.gpu.device.pushErrorScope('validation');
    await this.step([bos, bos], 0, this.session.logits);
    await this.step([bos], 2, this.session.logits);
    const err = await this.gpu.device.popErrorScope();
    this.model.kv.truncate(0);
    if (err) throw new GPUExecutionError(`GPU validation failed while compiling kernels: ${err.message}`);
  }

  private checkUsable(): void {
    if (this.lostMessage !== null) throw new DeviceLostError(`the GPU device was lost (${this.lostMessage}); reload the engine`);
    if (this.stateValue === 'disposed') throw new EngineStateError('the engine was disposed');
    if (this.gpuError) {
      const e = this.gpuError;
      this.gpuError = null;
      throw new GPUExecutionError(`GPU error: ${e.message}`, { kind: e.constructor.name });
    }
  }

  private busy = false;
  /** Runs `fn` as the engine's one request at a time (state 'busy', errors mapped to named ones). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.checkUsable();
    if (this.busy) throw new EngineStateError('the engine is busy with another request; await it or abort it first');
    this.busy = true;
    this.setState('busy');
    try {
      return await fn();
    } catch (err) {
      // A readback that fails because the device was just lost fails before device.lost resolves.
      if (err instanceof GPUExecutionError && this.lostMessage === null) await this.lossSettled();
      if (this.lostMessage !== null && !(err instanceof DeviceLostError)) {
        throw new DeviceLostError(`the GPU device was lost (${this.lostMessage}); reload the engine`);
      }
      if (!(err instanceof Memory3Error) && (err as Error)?.name === 'AbortError') throw new GenerationAbortedError('generation aborted');
      throw err;
    } finally {
      this.busy = false;
      if (this.stateValue === 'busy') this.setState('ready');
    }
  }

  /** Waits briefly for device.lost (which sets lostMessage first), so a loss is reported as one. */
  private async lossSettled(): Promise<void> {
    await Promise.race([this.gpu.device.lost, new Promise((r) => setTimeout(r, 500))]);
  }

  private setState(s: EngineState, detail?: string): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.onState(s, detail);
  }

  private deviceLost(message: string): void {
    if (this.stateValue === 'disposed') return;
    this.lostMessage = message || 'unknown reason';
    this.setState('lost', this.lostMessage);
  }

  /** GPU buffers alive on the engine's device (and ever created): flat over a long session. */
  get bufferTally(): BufferTally {
    return { ...this.gpu.buffers };
  }

  /** Test hook: destroys the device as a driver reset would. */
  simulateDeviceLoss(): void {
    this.gpu.device.destroy();
  }

  dispose(): void {
    if (this.stateValue === 'disposed') return;
    this.setState('disposed');
    this.model.destroy();
    this.slots?.slots.destroy();
    this.memory.destroy();
    this.sink.destroy();
    this.run.destroy();
    this.staging.destroy();
    this.gpuSampler.destroy();
    this.gpu.device.destroy();
  }
}
