/**
 * The trained Memory³-tiny model (public/models/memory3-tiny, from tools/train) in the engine:
 * it loads with its own config, tokenizer and f16 weights, the tokenizer gives the ids PyTorch
 * used, and the engine's last-position logits match PyTorch's (test/fixtures/trained/logits.json,
 * the same f16 weights computed in f32) within f16 tolerance. Skipped visibly when the model
 * files are absent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { urlSource } from '../../src/model/source';
import { argmax, nmse } from '../helpers/engine';
import reference from '../fixtures/trained/logits.json';

// Vite serves public/ at the site root.
const modelUrl = `${location.origin}/models/memory3-tiny/`;
const available = (await fetch(`${modelUrl}config.json`)).ok;

describe.skipIf(!available)('trained memory3-tiny model vs PyTorch', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(urlSource(modelUrl));
  });
  afterAll(() => engine?.dispose());

  test('config carries the memory policy and the tokenizer its specials', () => {
    const cfg = engine.model.cfg;
    expect(cfg.memory3).toMatchObject({
      reference_prefix: '<s>Reference:',
      memory_layers: [0, 1, 2, 3],
      tokens_per_head: 64,
      retrieval_interval: 64,
      min_relative_score: 0.5,
    });
    expect(engine.tokenizer.bosTokenId).toBe(0);
    expect(engine.tokenizer.eosTokenIds).toContain(1);
  });

  for (const p of reference.prompts) {
    test(`logits of "${p.text}"`, async () => {
      expect(engine.tokenizer.encode(p.text)).toEqual(p.ids);
      engine.resetContext();
      const ours = await engine.evaluate(p.ids);
      const scale = Math.max(...p.logits.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < p.logits.length; i++) worst = Math.max(worst, Math.abs(ours[i] - p.logits[i]) / scale);
      expect(nmse(ours, p.logits)).toBeLessThanOrEqual(1e-4);
      expect(worst).toBeLessThanOrEqual(1e-2);
      expect(argmax(ours)).toBe(argmax(p.logits));
    });
  }

  test('a second chat turn re-renders the first reply as the model saw it, so its KV cache is reused', async () => {
    engine.resetContext();
    const turn1 = [{ role: 'user' as const, content: 'Hello there' }];
    const r1 = await engine.generate({ messages: turn1, maxTokens: 8, temperature: 0, ignoreEos: true });
    expect(r1.text.startsWith(' ')).toBe(true); // generated after "assistant:", as in training
    const turn2 = [...turn1, { role: 'assistant' as const, content: r1.text }, { role: 'user' as const, content: 'And then?' }];
    const r2 = await engine.generate({ messages: turn2, maxTokens: 4, temperature: 0, ignoreEos: true });
    // Reused: the first prompt and the reply up to a special token the reply text does not show
    // (the last sampled token was never fed, so it may be prefilled now).
    let visible = r1.tokens.findIndex((t) => engine.tokenizer.isSpecial(t));
    if (visible < 0) visible = r1.tokens.length;
    expect(visible).toBeGreaterThan(1);
    expect(r2.usage.cachedPromptTokens).toBeGreaterThanOrEqual(r1.usage.promptTokens + visible - 1);
  });
});
