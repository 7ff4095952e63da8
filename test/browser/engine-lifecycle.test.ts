/**
 * A hostile run of the public API: dispose() and device loss in the middle of generating and of
 * encoding, two requests at once, breaking out of a stream and starting the next request at once,
 * 200 generate/abort cycles, methods on a disposed engine. Every promise settles, with a named error.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, DeviceLostError, EngineStateError, GenerationAbortedError, type Memory3Engine } from '../../src/index';
import { deleteBank } from '../../src/memory/store/index';
import { fixtureUrl } from '../helpers/engine';
import { checkBank } from '../helpers/memory-store';

const load = () => createEngine({ model: fixtureUrl('llama'), contextLength: 256 });
const policy = { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 };
const longDocs = [{ source: 'long.txt', text: Array.from({ length: 40 }, (_, i) => `Line ${i} tells of the sea and ships.`).join(' ') }];
const long = { prompt: 'The sea', maxTokens: 200, temperature: 0, ignoreEos: true };
const banks: string[] = [];
const bankName = (tag: string) => {
  const n = `life-${tag}-${Date.now().toString(36)}`;
  banks.push(n);
  return n;
};

/** The promise's outcome, or 'hung' when it has not settled within `ms`. */
async function outcome(p: Promise<unknown>, ms = 20_000): Promise<unknown> {
  return Promise.race([
    p.then(
      (v) => ({ value: v }),
      (e: unknown) => e,
    ),
    new Promise((r) => setTimeout(() => r('hung'), ms)),
  ]);
}

let engine: Memory3Engine;
beforeAll(async () => {
  engine = await load();
});
afterAll(async () => {
  await engine?.dispose();
  for (const b of banks) await deleteBank(b).catch(() => {});
});

describe('one engine, many requests', () => {
  test('two generate calls at once: the second is refused with EngineStateError, the first completes', async () => {
    const first = engine.generate({ prompt: 'One', maxTokens: 8, temperature: 0, ignoreEos: true });
    const second = engine.generate({ prompt: 'Two', maxTokens: 8, temperature: 0 });
    const refused = await outcome(second.result);
    expect(refused).toBeInstanceOf(EngineStateError);
    expect((refused as Error).message).toMatch(/busy/);
    expect(((await first.result) as { tokens: number[] }).tokens.length).toBe(8);
    expect((await engine.generate({ prompt: 'Three', maxTokens: 2, temperature: 0 }).result).tokens.length).toBeGreaterThan(0);
  });

  test('breaking out of a stream and starting the next request at once is never refused as busy', async () => {
    for (let i = 0; i < 10; i++) {
      for await (const _ of engine.generate(long)) break;
      const next = await outcome(engine.generate({ prompt: 'Next', maxTokens: 2, temperature: 0 }).result);
      expect(next, `round ${i}`).toHaveProperty('value');
      const chunks = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100, stream: true });
      for await (const _ of chunks) break;
      expect(await outcome(engine.tokenize('free again'))).toHaveProperty('value');
      expect(await outcome(engine.evaluate([1, 2, 3]))).toHaveProperty('value');
    }
  });

  test('200 generate/abort cycles leave the engine ready and its output unchanged', async () => {
    const probe = { prompt: 'Cats and the sea', maxTokens: 12, temperature: 0, ignoreEos: true };
    engine.resetContext();
    const before = (await engine.generate(probe).result).tokens;
    let aborted = 0;
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) {
        for await (const _ of engine.generate({ ...long, prompt: `Cycle ${i}` })) break;
        aborted++;
      } else {
        const ctl = new AbortController();
        const s = engine.generate({ ...long, prompt: `Cycle ${i}`, signal: ctl.signal });
        let got = 0;
        const err = await outcome(
          (async () => {
            for await (const _ of s) if (++got === 1) ctl.abort();
          })(),
        );
        expect(err).toBeInstanceOf(GenerationAbortedError);
        expect(await outcome(s.result)).toBeInstanceOf(GenerationAbortedError);
        aborted++;
      }
    }
    expect(aborted).toBe(200);
    expect(engine.state).toBe('ready');
    await engine.resetContext();
    expect((await engine.generate(probe).result).tokens).toEqual(before);
  });
});

describe('faults in flight', () => {
  test('dispose() during a generation: the result and the stream reject with EngineStateError', async () => {
    const e = await load();
    const s = e.generate(long);
    const seen: string[] = [];
    let disposing: Promise<void> | null = null;
    const loop = outcome(
      (async () => {
        for await (const d of s) {
          seen.push(d.text);
          if (seen.length === 1) disposing = e.dispose();
        }
      })(),
    );
    expect(await outcome(s.result)).toBeInstanceOf(EngineStateError);
    expect(await loop).toBeInstanceOf(EngineStateError);
    expect(await outcome(disposing!)).toEqual({ value: undefined });
    expect(e.state).toBe('disposed');
    expect(seen.length).toBeGreaterThan(0);
    const p = e.tokenize('x');
    expect(p).toBeInstanceOf(Promise);
    for (const call of [
      p,
      e.detokenize([1]),
      e.evaluate([1]),
      e.resetContext(),
      e.memory.list(),
      e.memory.stats('x'),
      e.memory.createBank('x'),
      e.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] }),
    ]) {
      expect(await outcome(call)).toBeInstanceOf(EngineStateError);
    }
    expect(() => e.generate({ prompt: 'x' })).toThrow(EngineStateError);
  });

  test('dispose() during encoding: EngineStateError, the bank consistent, a new engine resumes', async () => {
    const e = await load();
    const bank = bankName('dispose-encode');
    await e.memory.createBank(bank, { policy });
    const encoding = e.memory.addDocuments(bank, longDocs, {
      onProgress: (p) => {
        if (p.referencesDone > 0) void e.dispose();
      },
    });
    expect(await outcome(encoding)).toBeInstanceOf(EngineStateError);
    const raw = await checkBank(bank);
    const r = await engine.memory.addDocuments(bank, longDocs);
    expect(r.resumed).toBe(raw.references.length);
    expect((await checkBank(bank)).references.length).toBe(r.resumed + r.references);
  });

  test('device lost mid-generation: DeviceLostError, state lost, a new engine works', async () => {
    const states: string[] = [];
    const e = await createEngine({ model: fixtureUrl('llama'), contextLength: 256, onStateChange: (st) => states.push(st) });
    const s = e.generate(long);
    let n = 0;
    const loop = outcome(
      (async () => {
        for await (const _ of s) if (++n === 2) await e.simulateDeviceLoss();
      })(),
    );
    expect(await outcome(s.result)).toBeInstanceOf(DeviceLostError);
    expect(await loop).toBeInstanceOf(DeviceLostError);
    expect(e.state).toBe('lost');
    expect(states).toContain('lost');
    expect(await outcome(e.generate({ prompt: 'x', maxTokens: 2 }).result)).toBeInstanceOf(DeviceLostError);
    await e.dispose();
    const fresh = await load();
    expect((await fresh.generate({ prompt: 'x', maxTokens: 3, temperature: 0, ignoreEos: true }).result).tokens.length).toBe(3);
    await fresh.dispose();
  });

  test('device lost mid-encoding: DeviceLostError, the bank intact, a new engine resumes', async () => {
    const e = await load();
    const bank = bankName('lost-encode');
    await e.memory.createBank(bank, { policy });
    const encoding = e.memory.addDocuments(bank, longDocs, {
      onProgress: (p) => {
        if (p.referencesDone > 0) void e.simulateDeviceLoss();
      },
    });
    expect(await outcome(encoding)).toBeInstanceOf(DeviceLostError);
    expect(e.state).toBe('lost');
    await e.dispose();
    const raw = await checkBank(bank);
    expect(raw.references.length).toBeGreaterThan(0);
    const r = await engine.memory.addDocuments(bank, longDocs);
    expect(r.resumed).toBe(raw.references.length);
    expect(r.references).toBeGreaterThan(0);
    await checkBank(bank);
  });
});
