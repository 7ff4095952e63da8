/**
 * The trained Memory³-tiny model with a bank the engine builds itself (engine.memory, lexical
 * retriever, the model's own policy from config.json): held-out element entries of the knowledge
 * set are encoded on the GPU; a question about an element retrieves that element's reference
 * among its prompt chunk's memories, and the memories change the model's prediction. Skipped visibly when
 * the model files are absent. The near-copy rule is off: overlapRatio divides by the shorter
 * sequence, so a short question contained in its element's reference would count as a copy of it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { deleteBank } from '../../src/memory/store/banks';
import { urlSource } from '../../src/model/source';
import { nmse } from '../helpers/engine';
import docs from '../fixtures/trained/bank-documents.json';

const modelUrl = `${location.origin}/models/memory3-tiny/`;
const available = (await fetch(`${modelUrl}config.json`)).ok;

describe.skipIf(!available)('trained memory3-tiny with an engine-built bank', () => {
  let engine: Engine;
  const bank = `trained-${Date.now()}`;
  beforeAll(async () => { engine = await Engine.load(urlSource(modelUrl)); });
  afterAll(async () => { engine?.dispose(); await deleteBank(bank).catch(() => {}); });

  test('element questions retrieve their element and memory changes the prediction', async () => {
    await engine.memory.createBank(bank);
    const added = await engine.memory.addDocuments(bank, docs);
    expect(added.references).toBeGreaterThanOrEqual(docs.length);
    for (const d of docs.slice(0, 4)) {
      const prompt = engine.tokenizer.encode(`${d.source} Symbol:`);
      engine.resetContext();
      const r = await engine.generate({ tokens: prompt, maxTokens: 1, temperature: 0, ignoreEos: true, memory: { bank, policy: { dedupThreshold: null } } });
      const withMemory = Float32Array.from(engine.lastLogits);
      expect(r.retrievals![0].phase).toBe('prompt');
      expect(r.retrievals![0].references.map((x) => x.source)).toContain(d.source);
      engine.resetContext();
      const plain = await engine.evaluate(prompt);
      expect(nmse(withMemory, plain)).toBeGreaterThan(1e-6);
    }
  });
});
