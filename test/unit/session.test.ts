/**
 * The engine's Session without a GPU: the cache-reuse rule (one place for plain and explicit-memory
 * prompts), append's chunking and limits, and reset. The forward step is a recorder.
 */
import { describe, expect, test } from 'vitest';
import { Session, plainTag, type StepOptions } from '../../src/engine/session';
import { KvCache } from '../../src/model/kv-cache';
import { ContextOverflowError, EngineStateError, GenerationAbortedError } from '../../src/util/errors';

/** A KvCache whose GPU buffers are never made (its row bookkeeping is all Session touches). */
function fakeKv(contextLength: number): KvCache {
  return Object.assign(Object.create(KvCache.prototype) as KvCache, { tokens: [], contextLength, layers: [] });
}

function session(o: { context?: number; positions?: number; chunk?: number } = {}) {
  const steps: { ids: number[]; start: number; read: boolean; opts: StepOptions }[] = [];
  const s = new Session(fakeKv(o.context ?? 16), null as never, 5, o.positions ?? 64, o.chunk ?? 4, async (ids, start, logits, opts) => {
    steps.push({ ids: [...ids], start, read: logits !== null, opts });
    if (logits) logits.fill(ids[ids.length - 1]);
    return undefined;
  });
  return { s, steps };
}

describe('Session', () => {
  test('feed reuses the longest cached prefix, all but the last id at most', async () => {
    const { s, steps } = session();
    expect(await s.feed([1, 2, 3, 4, 5, 6])).toEqual({ logits: new Float32Array(5).fill(6), cached: 0 });
    expect(steps.map((x) => [x.ids, x.start, x.read])).toEqual([
      [[1, 2, 3, 4], 0, false],
      [[5, 6], 4, true],
    ]);
    steps.length = 0;
    expect((await s.feed([1, 2, 3, 9])).cached).toBe(3);
    expect(steps.map((x) => [x.ids, x.start])).toEqual([[[9], 3]]);
    steps.length = 0;
    expect((await s.feed([1, 2, 3, 9])).cached).toBe(3); // the same ids again: the last is fed for its logits
    expect(steps.map((x) => [x.ids, x.start])).toEqual([[[9], 3]]);
    expect([...s.kv.tokens]).toEqual([1, 2, 3, 9]);
  });

  test('rows computed under another tag are never reused', async () => {
    const { s } = session();
    await s.feed([1, 2, 3, 4]);
    expect(s.reuse([1, 2, 3, 4], 'bank-a')).toBe(0);
    expect(s.kv.length).toBe(0);
    await s.append([1, 2, 3, 4]);
    expect(s.reuse([1, 2, 3, 4, 5], 'bank-a')).toBe(4);
    expect(s.reuse([1, 2, 3, 4, 5], plainTag)).toBe(0);
    expect((await s.feed([7, 8])).cached).toBe(0);
  });

  test('append refuses rows past the context and positions past the model', async () => {
    const { s, steps } = session({ context: 6, positions: 8 });
    await expect(s.feed([])).rejects.toBeInstanceOf(EngineStateError);
    await expect(s.feed([1, 2, 3, 4, 5, 6, 7])).rejects.toBeInstanceOf(ContextOverflowError);
    await s.append([1, 2, 3]);
    await expect(s.append([4, 5, 6], { positionOffset: 3 })).rejects.toBeInstanceOf(ContextOverflowError);
    expect(s.kv.length).toBe(3);
    expect(s.rowLimit(0)).toBe(6);
    expect(s.rowLimit(4)).toBe(4);
    const ac = new AbortController();
    ac.abort();
    await expect(s.append([4], { signal: ac.signal })).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(steps).toHaveLength(1);
  });

  test('append passes memory and offset to every chunk; reset forgets rows and the last turn', async () => {
    const { s, steps } = session({ chunk: 2 });
    const opts = { memory: [null], positionOffset: 3 };
    await s.append([1, 2, 3], opts);
    expect(steps.map((x) => x.opts.positionOffset)).toEqual([3, 3]);
    expect(steps.every((x) => x.opts.memory === opts.memory)).toBe(true);
    s.lastTurn = { text: 'hi', ids: [1, 2] };
    s.reset();
    expect(s.kv.length).toBe(0);
    expect(s.lastTurn).toBeNull();
  });
});
