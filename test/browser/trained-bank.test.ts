/**
 * The trained Memory³-tiny model with a bank the engine builds itself (engine.memory, lexical
 * retriever, the model's own policy from config.json): held-out element entries of the knowledge
 * set are encoded on the GPU; a question about an element retrieves that element's reference
 * among its prompt chunk's memories, and the memories change the model's prediction. Held-out chat
 * questions get the same replies as PyTorch's (tools/train/reference.py, qa.json) with memory and
 * without, from the same documents: the engine answers from memory what the model learned to read.
 * Skipped visibly when the model files are absent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { deleteBank } from '../../src/memory/store/banks';
import { urlSource } from '../../src/model/source';
import { nmse } from '../helpers/engine';
import docs from '../fixtures/trained/bank-documents.json';
import qa from '../fixtures/trained/qa.json';

const modelUrl = `${location.origin}/models/memory3-tiny/`;
const available = (await fetch(`${modelUrl}config.json`)).ok;

describe.skipIf(!available)('trained memory3-tiny with an engine-built bank', () => {
  let engine: Engine;
  const bank = `trained-${Date.now()}`;
  beforeAll(async () => {
    engine = await Engine.load(urlSource(modelUrl));
  });
  afterAll(async () => {
    engine?.dispose();
    await deleteBank(bank).catch(() => {});
  });

  test('element questions retrieve their element and memory changes the prediction', async () => {
    await engine.memory.createBank(bank);
    const added = await engine.memory.addDocuments(bank, docs);
    expect(added.references).toBeGreaterThanOrEqual(docs.length);
    for (const d of docs.slice(0, 4)) {
      const prompt = engine.tokenizer.encode(`${d.source} Symbol:`);
      engine.resetContext();
      const r = await engine.generate({ tokens: prompt, maxTokens: 1, temperature: 0, ignoreEos: true, memory: { bank } });
      const withMemory = Float32Array.from(engine.lastLogits);
      expect(r.retrievals![0].phase).toBe('prompt');
      expect(r.retrievals![0].references.map((x) => x.source)).toContain(d.source);
      engine.resetContext();
      const plain = await engine.evaluate(prompt);
      expect(nmse(withMemory, plain)).toBeGreaterThan(1e-6);
    }
  });

  test('held-out questions: the same replies as PyTorch, with memory and without', async () => {
    const name = `${bank}-qa`;
    await engine.memory.createBank(name);
    try {
      await engine.memory.addDocuments(name, qa.documents);
      let right = 0,
        rightWithout = 0;
      for (const q of qa.questions) {
        const ask = (memory: boolean) => {
          engine.resetContext();
          return engine.generate({
            messages: [{ role: 'user', content: q.question }],
            maxTokens: 16,
            temperature: 0,
            stop: ['\n'],
            ...(memory ? { memory: { bank: name } } : {}),
          });
        };
        const r = await ask(true);
        expect(
          r.retrievals![0].references.map((x) => x.source),
          q.question,
        ).toEqual(q.retrieved);
        expect(r.text, q.question).toBe(q.withMemory);
        expect((await ask(false)).text, q.question).toBe(q.withoutMemory);
        right += r.text.trim().toLowerCase().startsWith(q.answer.toLowerCase().replace(/\.$/, '')) ? 1 : 0;
        rightWithout += q.withoutMemory.trim().toLowerCase().startsWith(q.answer.toLowerCase().replace(/\.$/, '')) ? 1 : 0;
      }
      // What the equalities above pin down: memory is what answers (PyTorch's own figures, checked here).
      expect(right).toBeGreaterThan(qa.questions.length / 2);
      expect(rightWithout).toBeLessThan(right / 4);
    } finally {
      await deleteBank(name).catch(() => {});
    }
  });
});
