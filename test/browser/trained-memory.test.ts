/**
 * The engine's explicit-memory path against an independent implementation (tools/train, PyTorch)
 * on the trained Memory³-tiny model: the engine's memory writer encodes the same five references
 * (same prefix ids), keeps the same tokens per (reference, memory layer, kv head), and one prompt
 * chunk generated with exactly those memories gives PyTorch's logits within f16 tolerance
 * (test/fixtures/trained/memory-logits.json). Skipped visibly when the model files are absent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { KernelRunner } from '../../src/gpu/runner';
import { policyFromConfig, resolvePolicy } from '../../src/memory/policy';
import type { MemoryProvider, Retrieval } from '../../src/memory/provider';
import { prefixTokens } from '../../src/memory/references';
import type { MemoryPolicy, MemoryRecordData } from '../../src/memory/types';
import { MemoryWriter } from '../../src/memory/writer';
import { urlSource } from '../../src/model/source';
import { argmax, nmse } from '../helpers/engine';
import fixture from '../fixtures/trained/memory-logits.json';

const modelUrl = `${location.origin}/models/memory3-tiny/`;
const available = (await fetch(`${modelUrl}config.json`)).ok;

/** Always returns the given records (one retrieval's worth). */
class FixedProvider implements MemoryProvider {
  readonly tag = `trained-memory:${Math.random()}`;
  constructor(
    readonly policy: MemoryPolicy,
    private readonly records: MemoryRecordData[],
  ) {}
  async retrieve(query: string): Promise<Retrieval> {
    return {
      memories: this.records.map((data, i) => ({ data, reference: { id: i, score: 1, source: 'fixture', text: query, start: 0, end: 0 } })),
      corrupt: [],
    };
  }
}

describe.skipIf(!available)('trained memory3-tiny: engine memory path vs PyTorch', () => {
  let engine: Engine;
  let run: KernelRunner;
  let policy: MemoryPolicy;
  beforeAll(async () => {
    engine = await Engine.load(urlSource(modelUrl));
    const cfg = engine.model.cfg;
    policy = resolvePolicy({ numLayers: cfg.numLayers, numKvHeads: cfg.numKvHeads }, policyFromConfig(cfg.memory3));
    run = new KernelRunner(engine.model.device);
  });
  afterAll(() => {
    run?.destroy();
    engine?.dispose();
  });

  test('writer selection and spliced logits match', async () => {
    expect(policy).toMatchObject(fixture.policy);
    expect(prefixTokens(engine.tokenizer, policy)).toEqual(fixture.prefix);
    fixture.references.forEach((text, i) =>
      expect(engine.tokenizer.encode(text, { addSpecialTokens: false })).toEqual(fixture.referenceIds[i]),
    );
    const writer = new MemoryWriter(engine.model, run, engine.tokenizer, policy);
    const written = await writer.encode(fixture.referenceIds);
    writer.destroy();
    // A reference shorter than tokensPerHead uses only its own tokens' slots (as the bank provider says).
    const k = policy.tokensPerHead;
    const records = written.map((w) => ({ ...w, slots: Math.min(k, w.tokenCount) }));
    // Kept token positions per (reference, layer, kv head) in the used slots, compared as sets (order is free).
    let same = 0,
      total = 0;
    fixture.positions.forEach((perRef, r) =>
      perRef.forEach((perLayer, li) =>
        perLayer.forEach((want, g) => {
          const start = (li * policy.memoryHeads.length + g) * k;
          const got = [...records[r].positions.subarray(start, start + records[r].slots)].sort((a, b) => a - b);
          total++;
          if (JSON.stringify(got) === JSON.stringify([...want].sort((a, b) => a - b))) same++;
        }),
      ),
    );
    expect(same / total, `${same} of ${total} (reference, layer, head) selections equal`).toBeGreaterThanOrEqual(0.9);
    engine.resetContext();
    const provider = new FixedProvider(policy, records);
    await engine.generateWith({ tokens: fixture.ids, maxTokens: 1, temperature: 0, ignoreEos: true }, provider, fixture.prefix);
    const ours = Float32Array.from(engine.lastLogits);
    expect(nmse(ours, fixture.logits)).toBeLessThanOrEqual(same === total ? 1e-4 : 1e-3);
    expect(argmax(ours)).toBe(argmax(fixture.logits));
    // The memories matter: PyTorch without them is farther from the engine's result.
    expect(nmse(fixture.logitsWithoutMemory, fixture.logits)).toBeGreaterThan(10 * nmse(ours, fixture.logits));
  });
});
