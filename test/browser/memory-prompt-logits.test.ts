/**
 * Explicit memory's chunked prompt computes logits once (issue 12 item 6): a 20-token prompt in
 * 8-token chunks (after a 3-token prefix) records the final norm + LM head in its last step only
 * and reads one logits row back, and its logits are bit-identical to the same chunks fed one by
 * one with a readback after each (the path before the change), memories swapped in between.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import type { Session } from '../../src/engine/session';
import { resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import { contextPositionOffset, MemorySlots } from '../../src/memory/slots';
import { urlSource } from '../../src/model/source';
import { fixtureUrl } from '../helpers/engine';
import { randomF32 } from '../helpers/gpu';

/** Memories that depend only on the query text (so two runs splice the same ones). */
class QueryProvider implements MemoryProvider {
  readonly tag = `prompt-logits:${Math.random()}`;
  constructor(
    readonly policy: ReturnType<typeof resolvePolicy>,
    private readonly hd: number,
  ) {}
  memories(query: string) {
    const p = this.policy,
      n = p.memoryLayers.length * p.memoryHeads.length * p.tokensPerHead * this.hd;
    let seed = 7;
    for (const ch of query) seed = (seed * 31 + ch.charCodeAt(0)) % 100_003;
    return Array.from({ length: p.memoriesPerRetrieval }, (_, r) => ({
      keys: randomF32(n, seed + 2 * r, 2),
      values: randomF32(n, seed + 2 * r + 1, 1),
      positions: new Uint16Array(n / this.hd),
    }));
  }
  async retrieve(query: string): Promise<Retrieval> {
    return {
      memories: this.memories(query).map((data, i) => ({
        data,
        reference: { id: i, score: 1, source: 't', text: query, start: 0, end: 0 },
      })),
      corrupt: [],
    };
  }
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(urlSource(`${location.origin}${fixtureUrl('llama')}`), { contextLength: 128, prefillChunk: 16 });
});
afterAll(() => engine?.dispose());

/** Per recorded step: dispatches that write the logits buffer (LM head, soft-cap) and copies out of it. */
function countLogitsWork(e: Engine) {
  const run = e.runner,
    logits = e.model.logits;
  const steps: { lmHead: number; copies: number }[] = [];
  const orig = { begin: run.begin, dispatch: run.dispatch, copy: run.copy };
  run.begin = (...a) => {
    steps.push({ lmHead: 0, copies: 0 });
    return orig.begin.apply(run, a);
  };
  run.dispatch = (spec) => {
    if (spec.buffers.includes(logits)) steps[steps.length - 1].lmHead++;
    return orig.dispatch.call(run, spec);
  };
  run.copy = (src, ...a) => {
    if (src === logits) steps[steps.length - 1].copies++;
    return orig.copy.call(run, src, ...a);
  };
  return { steps, restore: () => Object.assign(run, orig) };
}

const prefix = [322, 40, 41];
const prompt = Array.from({ length: 20 }, (_, i) => 40 + ((i * 17) % 200));
const policy = () =>
  resolvePolicy(
    { numLayers: 2, numKvHeads: 2 },
    {},
    { memoryLayers: [0, 1], tokensPerHead: 2, memoriesPerRetrieval: 2, retrievalInterval: 8, referenceLength: 8 },
  );

test('a 3-chunk memory prompt runs the LM head once and reads one logits row, with unchanged logits', async () => {
  const p = policy(),
    provider = new QueryProvider(p, engine.model.cfg.headDim),
    rowBytes = engine.model.cfg.vocabSize * 4;
  engine.resetContext();
  const counter = countLogitsWork(engine);
  const bytes0 = engine.debug.readbackBytes;
  let result: Awaited<ReturnType<Engine['generateWith']>>;
  try {
    result = await engine.generateWith({ tokens: prompt, maxTokens: 1, temperature: 0, ignoreEos: true }, provider, prefix);
  } finally {
    counter.restore();
  }
  const chunked = engine.lastLogits.slice();
  // The prefix, then chunks [0,8) [8,16) [16,20): the LM head (matmul into logits) in the last only.
  expect(counter.steps.length).toBe(4);
  expect(counter.steps.map((s) => s.lmHead > 0)).toEqual([false, false, false, true]);
  expect(counter.steps.map((s) => s.copies)).toEqual([0, 0, 0, 1]);
  expect(engine.debug.readbackBytes - bytes0).toBe(rowBytes);
  expect(result.retrievals.filter((e) => e.phase === 'prompt').length).toBe(3);

  // Before: each chunk fed with its own memories and its logits read back.
  engine.resetContext();
  const session = (engine as unknown as { session: Session }).session;
  const slots = new MemorySlots(engine.gpuDevice, engine.model.cfg, p, (l) => engine.model.layerInvFreq(l));
  const ref = countLogitsWork(engine);
  try {
    session.reuse([...prefix, ...prompt], 'prompt-logits-reference');
    await session.append(prefix);
    for (let i = 0; i < prompt.length; i += 8) {
      const chunk = prompt.slice(i, i + 8);
      // A chunk's query: the 8 tokens ending where it ends (the short last one reaches back).
      const end = Math.min(i + 8, prompt.length);
      slots.write(provider.memories(engine.tokenizer.decode(prompt.slice(Math.max(0, end - 8), end), { skipSpecialTokens: true })));
      await session.append(chunk, { memory: slots.layerMemory(), positionOffset: contextPositionOffset(p) });
    }
  } finally {
    ref.restore();
    slots.destroy();
  }
  expect(ref.steps.map((s) => s.copies)).toEqual([1, 1, 1, 1]);
  expect(chunked).toEqual(session.logits);
  let best = 0;
  for (let i = 1; i < chunked.length; i++) if (chunked[i] > chunked[best]) best = i;
  expect(result.tokens).toEqual([best]);
});
