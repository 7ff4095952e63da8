/**
 * Nothing is allocated per token (issue 12 item 1): over 32 decode steps after warm-up, with and
 * without explicit memory (the memory swapped every 8 tokens), the device sees no createBindGroup,
 * createBuffer or createComputePipeline(Async) call, and each step makes the same small number of
 * queue.writeBuffer calls: the uniform arena's one 64 KB chunk (1; GPU-sampled steps take their
 * token from the previous step's sample), plus the token id with the CPU sampler (explicit memory),
 * and one per memory layer and slot half (keys, values) on the step during which a retrieval's
 * memories arrive (they are staged into the slots' back set ahead of the swap, which uploads nothing).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import type { LoadProgress } from '../../src/engine/types';
import { resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import type { MemoryPolicy } from '../../src/memory/types';
import { urlSource } from '../../src/model/source';
import { fixtureUrl } from '../helpers/engine';
import { randomF32 } from '../helpers/gpu';

interface StepCounts {
  creations: Record<string, number>;
  writes: number;
  dispatches: number;
}

/** Wraps the device's creation methods and queue.writeBuffer; every submit closes one step's counts. */
function countCalls(device: GPUDevice) {
  const steps: StepCounts[] = [];
  let cur: StepCounts = { creations: {}, writes: 0, dispatches: 0 };
  const d = device as unknown as Record<string, (...a: unknown[]) => unknown>;
  // Compute passes' dispatchWorkgroups, through the encoders the device makes.
  const createEncoder = device.createCommandEncoder;
  d.createCommandEncoder = (...args: unknown[]) => {
    const encoder = createEncoder.apply(device, args as [GPUCommandEncoderDescriptor?]);
    const begin = encoder.beginComputePass;
    encoder.beginComputePass = (...b: [GPUComputePassDescriptor?]) => {
      const pass = begin.apply(encoder, b);
      const dispatch = pass.dispatchWorkgroups;
      pass.dispatchWorkgroups = (...w: [number, number?, number?]) => {
        cur.dispatches++;
        return dispatch.apply(pass, w);
      };
      return pass;
    };
    return encoder;
  };
  for (const name of ['createBindGroup', 'createBuffer', 'createComputePipeline', 'createComputePipelineAsync']) {
    const original = d[name];
    d[name] = (...args: unknown[]) => {
      cur.creations[name] = (cur.creations[name] ?? 0) + 1;
      return original.apply(device, args);
    };
  }
  const q = device.queue as unknown as Record<string, (...a: unknown[]) => unknown>;
  const write = q.writeBuffer,
    submit = q.submit;
  q.writeBuffer = (...args: unknown[]) => {
    cur.writes++;
    return write.apply(device.queue, args);
  };
  q.submit = (...args: unknown[]) => {
    steps.push(cur);
    cur = { creations: {}, writes: 0, dispatches: 0 };
    return submit.apply(device.queue, args);
  };
  return {
    steps,
    restore() {
      for (const name of ['createBindGroup', 'createBuffer', 'createComputePipeline', 'createComputePipelineAsync', 'createCommandEncoder'])
        delete d[name];
      delete q.writeBuffer;
      delete q.submit;
    },
  };
}

/** Deterministic memories, different per query text, so every retrieval swaps the slots' contents. */
class SwappingProvider implements MemoryProvider {
  readonly tag = `alloc-test:${Math.random()}`;
  private calls = 0;
  constructor(
    readonly policy: MemoryPolicy,
    private readonly hd: number,
  ) {}
  async retrieve(query: string): Promise<Retrieval> {
    const p = this.policy,
      n = p.memoryLayers.length * p.memoryHeads.length * p.tokensPerHead * this.hd,
      seed = 11 + 7 * this.calls++;
    const records = Array.from({ length: p.memoriesPerRetrieval }, (_, r) => ({
      keys: randomF32(n, seed + r * 2, 2),
      values: randomF32(n, seed + r * 2 + 1, 1),
      positions: new Uint16Array(n / this.hd),
    }));
    return {
      memories: records.map((data, i) => ({ data, reference: { id: i, score: 1, source: 'test', text: query, start: 0, end: 0 } })),
      corrupt: [],
    };
  }
}

let engine: Engine;
const progress: LoadProgress[] = [];
let pipelinesAtLoad = 0;
beforeAll(async () => {
  engine = await Engine.load(urlSource(`${location.origin}${fixtureUrl('llama')}`), { contextLength: 128, prefillChunk: 16 }, (p) =>
    progress.push(p),
  );
  pipelinesAtLoad = engine.runner.pipelines.size;
});
afterAll(() => engine?.dispose());

const prompt = Array.from({ length: 10 }, (_, i) => 40 + ((i * 13) % 200));
const req = { tokens: prompt, maxTokens: 34, temperature: 0, ignoreEos: true };
const policy = () =>
  resolvePolicy(
    { numLayers: 2, numKvHeads: 2 },
    {},
    { memoryLayers: [0, 1], tokensPerHead: 2, memoriesPerRetrieval: 2, retrievalInterval: 8, referenceLength: 8 },
  );

/** Runs `gen` once to warm up, then again counting; returns the counts of the 32 decode steps. */
async function decodeCounts(gen: () => Promise<unknown>): Promise<StepCounts[]> {
  engine.resetContext();
  await gen();
  engine.resetContext();
  const counter = countCalls(engine.gpuDevice);
  try {
    await gen();
  } finally {
    counter.restore();
  }
  // Step 0 is the prompt's prefill; the next 32 are decode steps.
  expect(counter.steps.length).toBeGreaterThanOrEqual(33);
  return counter.steps.slice(1, 33);
}

/** Creation calls over all steps, by method. */
function totals(steps: StepCounts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of steps) for (const [k, n] of Object.entries(s.creations)) out[k] = (out[k] ?? 0) + n;
  return out;
}

test('32 decode steps create nothing and write one uniform chunk each (the token comes from the GPU sampler; the first step uploads it and the PRNG seed)', async () => {
  const steps = await decodeCounts(() => engine.generate(req));
  const created = totals(steps);
  console.log('plain decode: creations', JSON.stringify(created), 'writes', steps.map((s) => s.writes).join(','));
  expect(created).toEqual({});
  // The first GPU-sampled step uploads the CPU-sampled token and the CPU sampler's PRNG state; later
  // steps read their token from the previous step's sample on the GPU.
  expect(steps.map((s) => s.writes)).toEqual([3, ...new Array(31).fill(1)]);
});

test('a decode step runs at most 7 dispatches per layer (norms, q/k/v, RoPE and the cache write, gate/up and the activation fused)', async () => {
  const steps = await decodeCounts(() => engine.generate(req));
  const layers = engine.model.cfg.numLayers;
  const dispatches = steps.map((s) => s.dispatches);
  // Outside the layers: the embedding, the LM head (the final norm fused in) and the GPU sampler.
  const outside = 3;
  console.log(`decode dispatches per step: ${dispatches.join(',')} (${layers} layers)`);
  for (const d of dispatches) expect((d - outside) / layers).toBeLessThanOrEqual(7);
  // Six per layer while attention runs in one dispatch; a seventh once the context is long enough
  // for split-K attention and its merge (here after ~30 keys).
  expect(dispatches[0]).toBe(6 * layers + outside);
  expect(dispatches.at(-1)).toBe(7 * layers + outside);
});

test('with explicit memory swapped every 8 tokens: still nothing created, writes fixed per step', async () => {
  const p = policy(),
    provider = new SwappingProvider(p, engine.model.cfg.headDim);
  const steps = await decodeCounts(() => engine.generateWith(req, provider, [322, 40, 41]));
  const created = totals(steps);
  const writes = steps.map((s) => s.writes);
  console.log('memory decode: creations', JSON.stringify(created), 'writes', writes.join(','));
  expect(created).toEqual({});
  // A retrieval stages keys and values for each memory layer (2 × 2) before some step's own 2 writes.
  const swap = 2 + 2 * p.memoryLayers.length;
  expect(writes.every((w) => w === 2 || w === swap)).toBe(true);
  expect(writes.filter((w) => w === swap).length).toBeGreaterThanOrEqual(3); // 32 tokens / interval 8
});

test('load compiles every pipeline the steps use, as its compile phase', async () => {
  const compile = progress.filter((p) => p.phase === 'compile');
  const last = compile.at(-1)!;
  expect(last.total).toBeGreaterThan(0);
  expect(last.loaded).toBe(last.total);
  expect(compile.map((p) => p.loaded)).toEqual(Array.from({ length: last.total + 1 }, (_, i) => i));
  // Prefill chunks of every length (a 45-token prompt in chunks of 16), long contexts, memory:
  engine.resetContext();
  await engine.generate({ tokens: Array.from({ length: 45 }, (_, i) => 30 + i), maxTokens: 70, temperature: 0, ignoreEos: true });
  await engine.generateWith(req, new SwappingProvider(policy(), engine.model.cfg.headDim), [322, 40, 41]);
  expect(engine.runner.pipelines.size).toBe(pipelinesAtLoad);
});
