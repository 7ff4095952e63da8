/**
 * The memory feeder without a GPU (issue 12 item 6): a real Session whose forward step is a
 * recorder, slots that record what is staged and swapped, a provider that answers after a given
 * number of forward steps (a deliberately slow retriever whose speed is counted in steps, so the
 * test does not depend on the machine's load).
 *  - the prompt: logits (LM head + readback) for the last chunk only;
 *  - a decode step does O(1) work: the same slot list object until a swap, no detokenizing, no staging;
 *  - a swap's retrieval starts retrievalLead tokens early, so with a retriever faster than the lead
 *    decode never waits, and the memories swapped in are those retrieved for the lagged window.
 */
import { describe, expect, test } from 'vitest';
import { MemoryFeeder } from '../../src/engine/memory-feeder';
import { Session } from '../../src/engine/session';
import { resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import { MemorySlots } from '../../src/memory/slots';
import type { MemoryRecordData } from '../../src/memory/types';
import type { ModelConfig } from '../../src/model/config';
import { KvCache } from '../../src/model/kv-cache';
import type { Tokenizer } from '../../src/tokenizer/tokenizer';

type Tagged = MemoryRecordData & { query: string };

/** Slots that keep the query whose memories each set holds; two list objects, as the real ones. */
class FakeSlots {
  private readonly lists = [[{ set: 'a' }], [{ set: 'b' }]];
  private readonly held: (string | null)[] = [null, null];
  private front = 0;
  stages = 0;
  stage(records: readonly MemoryRecordData[]): void {
    this.held[1 - this.front] = (records[0] as Tagged | undefined)?.query ?? null;
    this.stages++;
  }
  swap(): void {
    this.front = 1 - this.front;
  }
  write(records: readonly MemoryRecordData[]): void {
    this.stage(records);
    this.swap();
  }
  layerMemory(): unknown {
    return this.lists[this.front];
  }
  get frontQuery(): string | null {
    return this.held[this.front];
  }
}

interface Step {
  ids: number[];
  read: boolean;
  memory: unknown;
  query: string | null;
  /** Slot uploads since the previous step. */
  uploads: number;
}

const policyWith = (lead: number) =>
  resolvePolicy(
    { numLayers: 2, numKvHeads: 1 },
    {},
    { retrievalInterval: 8, retrievalLead: lead, memoriesPerRetrieval: 1, referenceLength: 8, tokensPerHead: 2 },
  );

/** Real MemorySlots on a device that only counts uploads (memory layer 0, 1 kv head, head dim 4). */
function realSlots(lead: number) {
  (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage ??= { STORAGE: 128, COPY_DST: 8, COPY_SRC: 4 };
  const counter = { writes: 0 };
  const device = {
    createBuffer: (d: GPUBufferDescriptor) => ({ label: d.label, destroy() {} }),
    queue: { writeBuffer: () => counter.writes++ },
  } as unknown as GPUDevice;
  const slots = new MemorySlots(device, { numLayers: 2, numKvHeads: 1, headDim: 4 } as ModelConfig, policyWith(lead), () => null);
  return { slots, counter };
}

function setup(o: { lead: number; stepsPerRetrieval: number; slots?: MemorySlots; writes?: { writes: number } }) {
  const policy = policyWith(o.lead);
  const slots = new FakeSlots();
  const steps: Step[] = [];
  let writesBefore = 0;
  const waiting: { at: number; resolve: () => void }[] = [];
  let decodes = 0;
  const tokenizer = {
    decode: (ids: readonly number[]) => {
      decodes++;
      return ids.join(',');
    },
  } as unknown as Tokenizer;
  const kv = Object.assign(Object.create(KvCache.prototype) as KvCache, { tokens: [], contextLength: 256, layers: [] });
  const session = new Session(kv, tokenizer, 4, 1024, 16, async (ids, _start, logits, opts) => {
    const w = o.writes?.writes ?? 0;
    steps.push({ ids: [...ids], read: logits !== null, memory: opts.memory, query: slots.frontQuery, uploads: w - writesBefore });
    writesBefore = w;
    for (const w of waiting.filter((x) => x.at <= steps.length)) w.resolve();
    return undefined;
  });
  const queries: string[] = [];
  let slowAfter = Number.POSITIVE_INFINITY;
  const provider: MemoryProvider = {
    policy,
    tag: 'feeder-test',
    retrieve(query: string): Promise<Retrieval> {
      queries.push(query);
      const data = { keys: new Float32Array(8), values: new Float32Array(8), positions: new Uint16Array(2), query } as Tagged;
      const answer: Retrieval = {
        memories: [{ data, reference: { id: 0, score: 1, source: 's', text: query, start: 0, end: 0 } }],
        corrupt: [],
      };
      if (steps.length < slowAfter) return Promise.resolve(answer);
      // Slow: ready once `stepsPerRetrieval` more steps have finished (or, if decoding waits for it, after 20 ms).
      return new Promise((resolve) => {
        const done = () => resolve(answer);
        waiting.push({ at: steps.length + o.stepsPerRetrieval, resolve: done });
        setTimeout(done, 20);
      });
    },
  };
  const feeder = new MemoryFeeder(session, provider, o.slots ?? (slots as unknown as MemorySlots), [900, 901], () => {});
  return {
    feeder,
    steps,
    slots,
    queries,
    decodes: () => decodes,
    slowFromNow: () => {
      slowAfter = steps.length;
    },
  };
}

const prompt = Array.from({ length: 20 }, (_, i) => i + 1);
const generated = Array.from({ length: 41 }, (_, i) => 100 + i);

async function decode(t: ReturnType<typeof setup>): Promise<void> {
  await t.feeder.prompt(prompt);
  t.slowFromNow();
  for (let i = 0; i < generated.length; i++) await t.feeder.next(generated[i], i);
  await t.feeder.settle();
}

describe('MemoryFeeder', () => {
  test('a prompt of 3 chunks reads logits once, after the last chunk', async () => {
    const t = setup({ lead: 4, stepsPerRetrieval: 1 });
    await t.feeder.prompt(prompt);
    // prefix, then chunks [0,8) [8,16) [16,20), each with its own memories.
    expect(t.steps.map((s) => [s.ids.length, s.read])).toEqual([
      [2, false],
      [8, false],
      [8, false],
      [4, true],
    ]);
    expect(t.steps.slice(1).map((s) => s.query)).toEqual(['1,2,3,4,5,6,7,8', '9,10,11,12,13,14,15,16', '13,14,15,16,17,18,19,20']);
  });

  test('a decode step does O(1) work: same slot list until a swap, no upload at the swap, detokenizing only per retrieval', async () => {
    const real = realSlots(4);
    const t = setup({ lead: 4, stepsPerRetrieval: 1, slots: real.slots, writes: real.counter });
    await decode(t);
    const dec = t.steps.slice(4); // after the prefix and the three prompt chunks
    expect(dec.length).toBe(generated.length);
    const retrievals = t.queries.length;
    expect(retrievals).toBe(3 + 5); // 3 prompt chunks; swaps at 8, 16, 24, 32, 40
    expect(t.decodes()).toBe(retrievals);
    // Keys and values of the one memory layer, once per retrieval: staged as it arrives, never at the swap.
    expect(real.counter.writes).toBe(2 * retrievals);
    expect(dec.filter((_, i) => i % 8 === 0 && i > 0).map((s) => s.uploads)).toEqual([0, 0, 0, 0, 0]);
    expect(dec.filter((s) => s.uploads > 0).length).toBe(5);
    for (let i = 1; i < dec.length; i++) {
      if (i % 8 !== 0)
        expect(dec[i].memory).toBe(dec[i - 1].memory); // the very same array object
      else expect(dec[i].memory).not.toBe(dec[i - 1].memory);
    }
  });

  test('retrieval starts retrievalLead tokens early: a retriever faster than the lead never stalls a swap', async () => {
    const t = setup({ lead: 4, stepsPerRetrieval: 4 });
    await decode(t);
    const events = t.feeder.events.filter((e) => e.phase === 'decode' && !e.reused);
    expect(events.length).toBe(5);
    expect(events.map((e) => e.waitMs)).toEqual([0, 0, 0, 0, 0]);
    // The query of the swap at s: the 8 tokens (prompt, then generated) ending 4 tokens before s.
    const history = [...prompt, ...generated];
    const windowFor = (s: number) => history.slice(prompt.length + s - 4 - 8, prompt.length + s - 4).join(',');
    expect(events.map((e) => e.query)).toEqual([8, 16, 24, 32, 40].map(windowFor));
    // Steps [s, s + 8) read exactly the memories retrieved for that window.
    const dec = t.steps.slice(4);
    dec.forEach((step, i) => {
      const s = Math.floor(i / 8) * 8;
      expect(step.query).toBe(s === 0 ? '13,14,15,16,17,18,19,20' : windowFor(s));
    });
  });

  test('control: with no lead the same retriever stalls every swap, and the query is the interval just generated', async () => {
    const t = setup({ lead: 0, stepsPerRetrieval: 3 });
    await decode(t);
    const events = t.feeder.events.filter((e) => e.phase === 'decode' && !e.reused);
    expect(events.length).toBe(5);
    for (const e of events) expect(e.waitMs).toBeGreaterThan(0);
    expect(events[0].query).toBe(generated.slice(0, 8).join(','));
    expect(events[1].query).toBe(generated.slice(8, 16).join(','));
  });
});
