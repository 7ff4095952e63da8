/**
 * The memory writer on real fixtures against the float64 reference (test/reference/memory_select.ts):
 * identical token choices and post-RoPE K/V within f32 tolerance (llama: GQA 2, head dim 16;
 * memory3: GQA 5, head dim 80); batches equal single encodes; the engine's context cache is
 * untouched; abort between batches; bad references rejected; throughput printed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MemoryPolicy } from '../../src/memory/types';
import type { WrittenMemory } from '../../src/memory/writer';
import { EngineStateError, GenerationAbortedError, InvalidOptionsError } from '../../src/util/errors';
import {
  checkAgainstReference,
  disposeFixture,
  loadWriterFixture,
  randomRefs,
  readBytes,
  type WriterFixture,
} from '../helpers/memory-writer';

const fixtures: { name: string; overrides: Partial<MemoryPolicy>; lengths: number[]; timed: number }[] = [
  { name: 'llama', overrides: { memoryLayers: [0, 1] }, lengths: [1, 5, 8, 9, 37, 128], timed: 12 },
  { name: 'memory3', overrides: { memoryLayers: [0, 1], memoryHeads: [0, 3, 7] }, lengths: [3, 8, 50, 128], timed: 6 },
];

for (const fx of fixtures) {
  describe(`memory writer on ${fx.name}`, () => {
    let f: WriterFixture;
    beforeAll(async () => {
      f = await loadWriterFixture(fx.name, fx.overrides, { batchSize: 3 });
    });
    afterAll(() => disposeFixture(f));

    test('token choices and K/V equal the float64 reference', async () => {
      await checkAgainstReference(f, fx.name, randomRefs(fx.lengths.length, fx.lengths));
    });

    test('a batch equals single encodes', async () => {
      const refs = randomRefs(77, [12, 1, 128, 40, 7, 8, 99]);
      const batched = await f.writer.encode(refs);
      for (let i = 0; i < refs.length; i++) {
        const [single] = await f.writer.encode([refs[i]]);
        expect(batched[i]).toEqual(single);
      }
    });

    test('the engine context cache is untouched', async () => {
      const ids = randomRefs(5, [20])[0];
      await f.engine.evaluate(ids);
      const kv = f.engine.model.kv,
        bytes = ids.length * kv.rowElems * 4;
      const snapshot = async () =>
        Promise.all(kv.layers.flatMap((l) => [readBytes(f.run.device, l.k, bytes), readBytes(f.run.device, l.v, bytes)]));
      const before = await snapshot();
      await f.writer.encode(randomRefs(6, [128, 30, 4]));
      expect(await snapshot()).toEqual(before);
      expect([...f.engine.cachedTokens]).toEqual(ids);
    });

    test(`throughput (${fx.name})`, async () => {
      const refs = randomRefs(9, Array(fx.timed).fill(f.policy.referenceLength));
      await f.writer.encode(refs.slice(0, 1)); // pipelines compiled
      const t0 = performance.now();
      const out = await f.writer.encode(refs);
      const secs = (performance.now() - t0) / 1000;
      expect(out).toHaveLength(refs.length);
      // The same run's plain prefill of as many tokens (all layers and logits) as a yardstick.
      f.engine.resetContext();
      const t1 = performance.now();
      await f.engine.evaluate(refs[0]);
      const prefill = (performance.now() - t1) / 1000;
      f.engine.resetContext();
      console.log(
        `memory writer ${fx.name}: ${(refs.length / secs).toFixed(2)} references/s ` +
          `(${refs.length} × ${f.policy.referenceLength} tokens, batch ${f.writer.batchSize}, SwiftShader); ` +
          `per reference ${(secs / refs.length).toFixed(2)} s vs one ${f.policy.referenceLength}-token prefill ${prefill.toFixed(2)} s`,
      );
    });
  });
}

describe('memory writer with a model chunk shorter than the reference', () => {
  test('chunked forward (chunk 6, prefix in 2 chunks) equals the float64 reference', async () => {
    const f = await loadWriterFixture('llama', { memoryLayers: [0, 1], tokensPerHead: 5 }, { batchSize: 2 }, { prefillChunk: 6 });
    try {
      expect(f.engine.model.maxChunk).toBe(6);
      await checkAgainstReference(f, 'llama', randomRefs(31, [5, 6, 7, 13, 128]));
    } finally {
      disposeFixture(f);
    }
  });
});

describe('memory writer control', () => {
  let f: WriterFixture;
  beforeAll(async () => {
    f = await loadWriterFixture('llama', {}, { batchSize: 2 });
  });
  afterAll(() => disposeFixture(f));

  test('abort between batches, then the writer still works', async () => {
    const refs = randomRefs(3, [10, 20, 30, 40, 50]);
    const ctl = new AbortController(),
      progress: number[][] = [];
    const run = f.writer.encode(refs, ctl.signal, (done, total) => {
      progress.push([done, total]);
      ctl.abort();
    });
    await expect(run).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(progress).toEqual([[2, 5]]);
    await expect(f.writer.encode(refs, ctl.signal)).rejects.toBeInstanceOf(GenerationAbortedError);
    const all: WrittenMemory[] = await f.writer.encode(refs);
    expect(all).toHaveLength(5);
    expect(await f.writer.encode(refs.slice(2, 3))).toEqual([all[2]]);
  });

  test('bad references are rejected before any GPU work', async () => {
    const L = f.policy.referenceLength;
    await expect(f.writer.encode([[]])).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(f.writer.encode([Array(L + 1).fill(1)])).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(
      f.writer.encode([
        [1, 2],
        [3, 328],
      ]),
    ).rejects.toThrow(/reference 1 token 1/);
    await expect(f.writer.encode([[1.5]])).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  test('two encodes at once are refused, the first completes', async () => {
    const refs = randomRefs(4, [16, 16]);
    const first = f.writer.encode(refs);
    await expect(f.writer.encode(refs)).rejects.toBeInstanceOf(EngineStateError);
    expect(await first).toHaveLength(2);
  });
});
