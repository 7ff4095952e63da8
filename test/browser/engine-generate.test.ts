/**
 * Generation through the worker API: greedy output equals the reference's greedy continuation,
 * stop strings, max tokens, seeded sampling, abort (engine stays usable), multi-turn KV reuse,
 * context overflow and device loss.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import {
  ContextOverflowError,
  createEngine,
  DeviceLostError,
  EngineStateError,
  GenerationAbortedError,
  InvalidOptionsError,
  type Memory3Engine,
} from '../../src/index';
import { argmax, fixtureUrl } from '../helpers/engine';

let engine: Memory3Engine;
beforeAll(async () => {
  engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 96 });
});
afterAll(async () => {
  await engine?.dispose();
});

async function referenceGreedy(prompt: number[], n: number): Promise<number[]> {
  const seq = [...prompt],
    out: number[] = [];
  for (let i = 0; i < n; i++) {
    const [row] = await commands.referenceLogits({ dir: 'test/fixtures/models/llama', tokens: seq });
    const t = argmax(row);
    out.push(t);
    seq.push(t);
  }
  return out;
}

describe('generation', () => {
  test('greedy tokens equal the float64 reference, streamed deltas add up to the text', async () => {
    const prompt = await engine.tokenize('The cat sat on the mat');
    const stream = engine.generate({ tokens: prompt, maxTokens: 12, temperature: 0, ignoreEos: true });
    let streamed = '';
    const streamedTokens: number[] = [];
    for await (const d of stream) {
      streamed += d.text;
      streamedTokens.push(...d.tokens);
    }
    const r = await stream.result;
    expect(r.tokens).toEqual(await referenceGreedy(prompt, 12));
    expect(streamedTokens).toEqual(r.tokens);
    expect(streamed).toBe(r.text);
    expect(r.text).toBe(await engine.detokenize(r.tokens));
    expect(r.finishReason).toBe('length');
    expect(r.usage.promptTokens).toBe(prompt.length);
    expect(r.usage.completionTokens).toBe(12);
    expect(r.usage.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(r.usage.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  test('seeded sampling is reproducible and differs across seeds', async () => {
    const run = async (seed: number) =>
      (await engine.generate({ prompt: 'Once', maxTokens: 16, temperature: 1.5, topK: 50, seed, ignoreEos: true }).result).tokens;
    const a = await run(7),
      b = await run(7),
      c = await run(8);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  test('a stop string ends generation and is not returned', async () => {
    const full = await engine.generate({ prompt: 'Hello', maxTokens: 24, temperature: 0, ignoreEos: true }).result;
    const stop = full.text.slice(6, 8);
    expect(stop.length).toBe(2);
    const cut = await engine.generate({ prompt: 'Hello', maxTokens: 24, temperature: 0, ignoreEos: true, stop: [stop] }).result;
    expect(cut.finishReason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  test('abort mid-generation throws GenerationAbortedError and leaves the engine usable', async () => {
    const before = (await engine.generate({ prompt: 'Abort me', maxTokens: 8, temperature: 0, ignoreEos: true }).result).tokens;
    const ctl = new AbortController();
    const stream = engine.generate({ prompt: 'Abort me', maxTokens: 60, temperature: 0, ignoreEos: true, signal: ctl.signal });
    let got = 0;
    await expect(
      (async () => {
        for await (const _ of stream) if (++got === 3) ctl.abort();
      })(),
    ).rejects.toBeInstanceOf(GenerationAbortedError);
    await expect(stream.result).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(got).toBeLessThan(60);
    const after = (await engine.generate({ prompt: 'Abort me', maxTokens: 8, temperature: 0, ignoreEos: true }).result).tokens;
    expect(after).toEqual(before);
  });

  test('a second chat turn reuses the KV cache of the first turn, its reply included', async () => {
    await engine.resetContext();
    const turn1 = [{ role: 'user' as const, content: 'Hi there' }];
    const r1 = await engine.generate({ messages: turn1, maxTokens: 6, temperature: 0 }).result;
    const turn2 = [...turn1, { role: 'assistant' as const, content: r1.text }, { role: 'user' as const, content: 'And then?' }];
    const r2 = await engine.generate({ messages: turn2, maxTokens: 6, temperature: 0 }).result;
    // The first turn's prompt and its reply's tokens (up to any special token the random model
    // emitted, which the reply text does not show) are reused: they are not prefilled again.
    const special = new Set(await engine.tokenize('<|user|><|assistant|><|end|><|system|></s><s>', { addSpecialTokens: false }));
    let visible = r1.tokens.findIndex((t) => special.has(t));
    if (visible < 0) visible = r1.tokens.length;
    expect(r2.usage.cachedPromptTokens).toBeGreaterThanOrEqual(r1.usage.promptTokens + visible - 1);
    // Replaying both turns from an empty cache gives the same replies.
    await engine.resetContext();
    const again1 = await engine.generate({ messages: turn1, maxTokens: 6, temperature: 0 }).result;
    expect(again1.usage.cachedPromptTokens).toBe(0);
    const again2 = await engine.generate({ messages: turn2, maxTokens: 6, temperature: 0 }).result;
    expect(again1.text).toBe(r1.text);
    expect(again2.text).toBe(r2.text);
  });

  test('streamed chat completion chunks end with finish_reason and usage', async () => {
    const chunks = await engine.chat.completions.create({
      messages: [{ role: 'user', content: 'Stream' }],
      max_tokens: 5,
      temperature: 0,
      stream: true,
    });
    const all = [];
    for await (const c of chunks) all.push(c);
    const last = all[all.length - 1];
    expect(all[0].choices[0].delta.role).toBe('assistant');
    expect(last.choices[0].finish_reason).not.toBeNull();
    expect(last.usage?.completion_tokens).toBeGreaterThan(0);
  });

  test('a prompt longer than the context is a ContextOverflowError; generation stops at the context end', async () => {
    const long = Array.from({ length: 120 }, (_, i) => 10 + (i % 50));
    await expect(engine.generate({ tokens: long, maxTokens: 4 }).result).rejects.toBeInstanceOf(ContextOverflowError);
    const r = await engine.generate({ tokens: long.slice(0, 90), maxTokens: 50, temperature: 0, ignoreEos: true }).result;
    expect(r.finishReason).toBe('length');
    expect(r.usage.totalTokens).toBe(96);
  });

  test('bad options are InvalidOptionsError', async () => {
    await expect(engine.generate({ prompt: 'x', temperature: -1 }).result).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(engine.generate({ prompt: 'x', tokens: [1] }).result).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(engine.generate({ tokens: [999999] }).result).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});

describe('device loss', () => {
  test('becomes a visible state and a DeviceLostError, never a hang', async () => {
    const states: string[] = [];
    const e = await createEngine({ model: fixtureUrl('llama'), onStateChange: (s) => states.push(s) });
    await e.simulateDeviceLoss();
    await expect(e.generate({ prompt: 'x', maxTokens: 3 }).result).rejects.toBeInstanceOf(DeviceLostError);
    expect(states).toContain('lost');
    expect(e.state).toBe('lost');
    await e.dispose();
    expect(() => e.generate({ prompt: 'x' })).toThrow(EngineStateError);
  });
});
