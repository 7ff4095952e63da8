/**
 * Splicing explicit memory into decoding, checked against the float64 reference of the joint
 * softmax over [memory slots, prefix + causal context]: prompt chunks that each attend to their own
 * memories, decode intervals that swap them, both position schemes and a memory-head subset; with
 * zero memories the logits are bit-identical to the engine without memory. The identity check (all
 * tokens kept, every layer, f32, one reference, contiguous positions = prefilling its text) runs on
 * every architecture in memory-architectures.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { Engine } from '../../src/engine/engine';
import { resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import type { MemoryPolicy, MemoryRecordData } from '../../src/memory/types';
import { urlSource } from '../../src/model/source';
import { argmax, nmse } from '../helpers/engine';
import { randomF32 } from '../helpers/gpu';

const dir = 'test/fixtures/models/llama';
let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(urlSource(`${location.origin}/${dir}/`), { contextLength: 128 });
});
afterAll(() => engine?.dispose());

/** Returns deterministic random memories per query text and remembers what it returned. */
class FixedProvider implements MemoryProvider {
  readonly tag: string;
  readonly served = new Map<string, MemoryRecordData[]>();
  constructor(
    readonly policy: MemoryPolicy,
    private readonly hd: number,
    private readonly fixed?: MemoryRecordData[],
  ) {
    this.tag = `test:${JSON.stringify(policy)}:${Math.random()}`;
  }
  async retrieve(query: string): Promise<Retrieval> {
    let records = this.fixed;
    if (!records) {
      let seed = 7;
      for (const ch of query) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
      const p = this.policy,
        n = p.memoryLayers.length * p.memoryHeads.length * p.tokensPerHead * this.hd;
      records = Array.from({ length: p.memoriesPerRetrieval }, (_, r) => ({
        keys: randomF32(n, seed + r * 2, 2),
        values: randomF32(n, seed + r * 2 + 1, 1),
        positions: new Uint16Array(n / this.hd),
      }));
    }
    this.served.set(query, records);
    return {
      memories: records.map((data, i) => ({ data, reference: { id: i, score: 1, source: 'test', text: query, start: 0, end: 0 } })),
      corrupt: [],
    };
  }
}

/** The slots as the engine lays them out for one retrieval, per model layer, for the reference. */
function slotSet(p: MemoryPolicy, records: MemoryRecordData[], kvHeads: number, hd: number, invFreq: Float64Array) {
  const k = p.tokensPerHead,
    set: Record<number, { keys: number[]; values: number[]; count: number; headMask: number }> = {};
  // Record r occupies its used slots only (rec.slots, all k by default), right after record r - 1's.
  const used = records.map((rec) => rec.slots ?? k),
    count = used.reduce((a, b) => a + b, 0);
  const first = used.map((_, r) => used.slice(0, r).reduce((a, b) => a + b, 0));
  const headMask = p.memoryHeads.reduce((m, h) => m | (1 << h), 0);
  p.memoryLayers.forEach((l, li) => {
    const keys = new Array(kvHeads * count * hd).fill(0),
      values = new Array(kvHeads * count * hd).fill(0);
    records.forEach((rec, r) =>
      p.memoryHeads.forEach((g, gi) => {
        for (let t = 0; t < used[r]; t++) {
          const src = ((li * p.memoryHeads.length + gi) * k + t) * hd,
            dst = (g * count + first[r] + t) * hd;
          const delta = p.positionScheme === 'contiguous' ? r * p.referenceLength : 0;
          for (let i = 0; i < hd / 2; i++) {
            // re-rotation by delta positions (identity when delta = 0)
            const a = delta * invFreq[i],
              x = rec.keys[src + i],
              y = rec.keys[src + i + hd / 2];
            keys[dst + i] = x * Math.cos(a) - y * Math.sin(a);
            keys[dst + i + hd / 2] = y * Math.cos(a) + x * Math.sin(a);
          }
          for (let d = 0; d < hd; d++) values[dst + d] = rec.values[src + d];
        }
      }),
    );
    set[l] = { keys, values, count, headMask };
  });
  return set;
}

function invFreq64(theta: number, hd: number): Float64Array {
  return Float64Array.from({ length: hd / 2 }, (_, i) => 1 / theta ** ((2 * i) / hd));
}

describe('explicit memory splicing', () => {
  const shape = { numLayers: 2, numKvHeads: 2 };
  const cases: [string, Partial<MemoryPolicy>][] = [
    [
      'parallel, layer 0, all heads',
      { memoryLayers: [0], tokensPerHead: 3, memoriesPerRetrieval: 2, retrievalInterval: 5, referenceLength: 16 },
    ],
    [
      'contiguous, both layers, kv head 1 only',
      {
        memoryLayers: [0, 1],
        memoryHeads: [1],
        tokensPerHead: 2,
        memoriesPerRetrieval: 3,
        retrievalInterval: 4,
        referenceLength: 8,
        positionScheme: 'contiguous',
      },
    ],
  ];
  for (const [name, overrides] of cases) {
    test(`prompt chunks and decode intervals match the joint-softmax reference (${name})`, async () => {
      const cfg = engine.model.cfg,
        hd = cfg.headDim;
      const policy = resolvePolicy(shape, {}, overrides);
      const provider = new FixedProvider(policy, hd);
      const prefix = [322, 40, 41],
        prompt = Array.from({ length: 12 }, (_, i) => 60 + ((i * 7) % 90));
      engine.resetContext();
      const r = await engine.generateWith({ tokens: prompt, maxTokens: 9, temperature: 0, ignoreEos: true }, provider, prefix);
      const fed = [...prefix, ...prompt, ...r.tokens.slice(0, -1)];
      // The documented layouts, written out independently of the engine's own helper:
      // parallel: [prefix][memories share b..b+referenceLength)[context]; contiguous: memories one after another.
      const off = policy.positionScheme === 'parallel' ? policy.referenceLength : policy.memoriesPerRetrieval * policy.referenceLength;
      const b = prefix.length,
        n = policy.retrievalInterval;
      const positions = fed.map((_, t) => (t < b ? t : t + off));
      // Which retrieval each fed token attends to, from the events (query text → records served).
      const sets = r.retrievals.map((e) =>
        slotSet(policy, provider.served.get(e.query)!, cfg.numKvHeads, hd, invFreq64(cfg.ropeTheta, hd)),
      );
      const promptEvents = r.retrievals.filter((e) => e.phase === 'prompt');
      const memoryOf = fed.map((_, t) => {
        if (t < b) return null;
        const j = t - b;
        if (j < prompt.length) return r.retrievals.indexOf(promptEvents[Math.floor(j / n)]);
        const g = j - prompt.length,
          c = Math.floor(g / n);
        return r.retrievals.findIndex((e) => e.phase === 'decode' && e.chunk === c);
      });
      expect(promptEvents.length).toBe(Math.ceil(prompt.length / n));
      expect(r.retrievals.filter((e) => e.phase === 'decode').length).toBe(Math.ceil((r.tokens.length - 1) / n));
      const rows = await commands.referenceLogitsWithMemory({
        dir,
        tokens: fed,
        positions,
        memories: sets,
        memoryOf,
        lastRows: r.tokens.length,
      });
      // Greedy tokens equal the reference's argmax at every step; the last logits are close.
      expect(rows.map(argmax)).toEqual(r.tokens);
      const last = rows[rows.length - 1];
      expect(nmse(engine.lastLogits, last)).toBeLessThanOrEqual(1e-6);
      // Zero-memory control: the reference without memories disagrees, so memories mattered.
      const plain = await commands.referenceLogitsWithMemory({
        dir,
        tokens: fed,
        positions,
        memories: [],
        memoryOf: fed.map(() => null),
        lastRows: 1,
      });
      expect(nmse(plain[0], last)).toBeGreaterThan(1e-4);
    });
  }

  test('with zero memories the logits are bit-identical to the engine without memory', async () => {
    const policy = resolvePolicy(shape, {}, { memoriesPerRetrieval: 0, positionScheme: 'contiguous' });
    const provider = new FixedProvider(policy, engine.model.cfg.headDim, []);
    const ids = [322, 11, 12, 13, 14, 15, 16, 17, 18];
    engine.resetContext();
    await engine.generateWith({ tokens: ids.slice(2), maxTokens: 1, temperature: 0 }, provider, ids.slice(0, 2));
    const withMemory = Float32Array.from(engine.lastLogits);
    const plain = await engine.evaluate(ids);
    expect(Array.from(withMemory)).toEqual(Array.from(plain));
  });

  test('a reference shorter than tokensPerHead splices only its own tokens (unused slots masked, not copies)', async () => {
    const cfg = engine.model.cfg,
      hd = cfg.headDim;
    const policy = resolvePolicy(
      shape,
      {},
      { memoryLayers: [0, 1], tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 64, referenceLength: 8 },
    );
    const n = policy.memoryLayers.length * policy.memoryHeads.length * policy.tokensPerHead * hd;
    const full: MemoryRecordData = { keys: randomF32(n, 11, 2), values: randomF32(n, 12, 1), positions: new Uint16Array(n / hd) };
    // A 2-token reference as the writer stores it in 4 slots: its tokens, then copies of the last one.
    const short: MemoryRecordData = {
      keys: randomF32(n, 13, 2),
      values: randomF32(n, 14, 1),
      positions: new Uint16Array(n / hd),
      slots: 2,
    };
    for (let v = 0; v < n / hd; v++)
      if (v % 4 >= 2) {
        const from = (v - (v % 4) + 1) * hd;
        short.keys.copyWithin(v * hd, from, from + hd);
        short.values.copyWithin(v * hd, from, from + hd);
      }
    const prefix = [322, 40, 41],
      prompt = [60, 67, 74, 81, 88, 95];
    engine.resetContext();
    await engine.generateWith({ tokens: prompt, maxTokens: 1, temperature: 0 }, new FixedProvider(policy, hd, [full, short]), prefix);
    const got = Float32Array.from(engine.lastLogits);
    const fed = [...prefix, ...prompt],
      b = prefix.length;
    const positions = fed.map((_, t) => (t < b ? t : t + policy.referenceLength));
    const memoryOf = fed.map((_, t) => (t < b ? null : 0));
    const reference = (records: MemoryRecordData[]) =>
      commands
        .referenceLogitsWithMemory({
          dir,
          tokens: fed,
          positions,
          memories: [slotSet(policy, records, cfg.numKvHeads, hd, invFreq64(cfg.ropeTheta, hd))],
          memoryOf,
          lastRows: 1,
        })
        .then((rows) => rows[0]);
    // The joint softmax over 4 + 2 slots; counting the short reference's last key three times differs.
    expect(nmse(got, await reference([full, short]))).toBeLessThanOrEqual(1e-6);
    const copies = await reference([full, { ...short, slots: undefined }]);
    expect(nmse(got, copies)).toBeGreaterThan(1e-5);
  });

  test('a retrieval still running when generation ends is awaited (no unhandled rejection)', async () => {
    const policy = resolvePolicy(
      shape,
      {},
      { memoryLayers: [0], tokensPerHead: 2, memoriesPerRetrieval: 1, retrievalInterval: 4, referenceLength: 8 },
    );
    const hd = engine.model.cfg.headDim;
    let calls = 0,
      settled = false;
    class FailingLater extends FixedProvider {
      override async retrieve(query: string): Promise<Retrieval> {
        if (++calls === 1) return super.retrieve(query);
        await new Promise((r) => setTimeout(r, 30));
        settled = true;
        throw new Error('the bank went away');
      }
    }
    const unhandled: unknown[] = [];
    const listen = (e: PromiseRejectionEvent) => {
      unhandled.push(e.reason);
      e.preventDefault();
    };
    window.addEventListener('unhandledrejection', listen);
    try {
      engine.resetContext();
      // Feeding generated token 3 completes the first decode interval and starts the next chunk's
      // retrieval; token 4 is the last one sampled, so nothing reads that retrieval.
      const r = await engine.generateWith(
        { tokens: [60, 61, 62], maxTokens: 5, temperature: 0, ignoreEos: true },
        new FailingLater(policy, hd),
        [322],
      );
      expect(r.tokens.length).toBe(5);
      expect(calls).toBe(2);
      expect(settled).toBe(true); // generateWith returned only after that retrieval ended
      await new Promise((res) => setTimeout(res, 50));
      expect(unhandled).toEqual([]);
    } finally {
      window.removeEventListener('unhandledrejection', listen);
    }
  });
});
