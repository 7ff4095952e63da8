/**
 * Explicit memory on every architecture (model/arch): on each fixture, the memory writer's token
 * choices and post-RoPE K/V equal the float64 reference (q/k-normed Qwen3 and Gemma 3, NoPE layers,
 * partial rotary with LongRoPE, Gemma's sandwich norms and soft-caps), and the identity check holds:
 * one reference spliced into every layer with all its tokens, f32, contiguous positions, gives the
 * logits of prefilling it in context. The identity's whole sequence fits the windowed fixtures'
 * window (8): memory slots are read whatever the window, so only there do the two coincide.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import type { MemoryPolicy, MemoryRecordData } from '../../src/memory/types';
import { argmax, nmse } from '../helpers/engine';
import { readF32 } from '../helpers/gpu';
import { checkAgainstReference, disposeFixture, loadWriterFixture, randomRefs, type WriterFixture } from '../helpers/memory-writer';

/** Serves one fixed record for every query. */
class OneRecord implements MemoryProvider {
  readonly tag = `identity:${Math.random()}`;
  constructor(
    readonly policy: MemoryPolicy,
    private readonly record: MemoryRecordData,
  ) {}
  async retrieve(query: string): Promise<Retrieval> {
    return {
      memories: [{ data: this.record, reference: { id: 0, score: 1, source: 'test', text: query, start: 0, end: 0 } }],
      corrupt: [],
    };
  }
}

const archs = ['llama', 'qwen2', 'qwen3', 'mistral-window', 'smollm3', 'gemma2', 'gemma3', 'phi3'];

for (const name of archs) {
  describe(`explicit memory on ${name}`, () => {
    let f: WriterFixture;
    beforeAll(async () => {
      const config = await (await fetch(`/test/fixtures/models/${name}/config.json`)).json();
      const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => l);
      f = await loadWriterFixture(name, { memoryLayers: layers, tokensPerHead: 8 }, { batchSize: 2 });
    });
    afterAll(() => disposeFixture(f));

    test('the writer: token choices and K/V equal the float64 reference', async () => {
      await checkAgainstReference(f, name, randomRefs(3, [5, 8, 37]));
    });

    test('identity: one reference, every layer, all tokens, f32, contiguous = prefilling it in context', async () => {
      const engine: Engine = f.engine,
        cfg = engine.model.cfg,
        hd = cfg.headDim,
        kvH = cfg.numKvHeads,
        L = cfg.numLayers;
      const prefix = [322, 50],
        ref = [70, 71, 72],
        context = [322, 90, 91];
      const b = prefix.length,
        n = ref.length;
      engine.resetContext();
      await engine.evaluate([...prefix, ...ref]);
      const keys = new Float32Array(L * kvH * n * hd),
        values = new Float32Array(L * kvH * n * hd);
      for (let l = 0; l < L; l++) {
        const k = await readF32(engine.gpuDevice, engine.model.kv.layers[l].k, n * kvH * hd, b * kvH * hd);
        const v = await readF32(engine.gpuDevice, engine.model.kv.layers[l].v, n * kvH * hd, b * kvH * hd);
        for (let g = 0; g < kvH; g++)
          for (let t = 0; t < n; t++) {
            keys.set(k.subarray((t * kvH + g) * hd, (t * kvH + g + 1) * hd), ((l * kvH + g) * n + t) * hd);
            values.set(v.subarray((t * kvH + g) * hd, (t * kvH + g + 1) * hd), ((l * kvH + g) * n + t) * hd);
          }
      }
      const record: MemoryRecordData = { keys, values, positions: new Uint16Array(L * kvH * n).map((_, i) => b + (i % n)) };
      const policy = resolvePolicy(
        { numLayers: L, numKvHeads: kvH },
        {},
        {
          memoryLayers: Array.from({ length: L }, (_, l) => l),
          tokensPerHead: n,
          referenceLength: n,
          memoriesPerRetrieval: 1,
          positionScheme: 'contiguous',
          codec: { keys: 'f32', values: 'f32' },
          retrievalInterval: 64,
        },
      );
      engine.resetContext();
      await engine.generateWith({ tokens: context, maxTokens: 1, temperature: 0 }, new OneRecord(policy, record), prefix);
      const withMemory = Float32Array.from(engine.lastLogits);
      engine.resetContext();
      const inContext = await engine.evaluate([...prefix, ...ref, ...context]);
      expect(nmse(withMemory, inContext)).toBeLessThanOrEqual(1e-10);
      expect(argmax(withMemory)).toBe(argmax(inContext));
      let worst = 0;
      for (let i = 0; i < inContext.length; i++) worst = Math.max(worst, Math.abs(withMemory[i] - inContext[i]));
      expect(worst).toBeLessThanOrEqual(1e-4);
    });
  });
}
