/** The public memory API through the worker: banks, encoding with progress, generation with retrieval events. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createEngine, GenerationAbortedError, type Memory3Engine, type RetrievalEvent } from '../../src/index';
import { fixtureUrl } from '../helpers/engine';

let engine: Memory3Engine;
const bank = `api-${Date.now()}`;
beforeAll(async () => {
  engine = await createEngine({ model: fixtureUrl('llama'), contextLength: 256 });
});
afterAll(async () => {
  await engine?.memory.delete(bank).catch(() => {});
  await engine?.dispose();
});

test('create, encode with progress, list, stats, generate with retrieval events, delete', async () => {
  const created = await engine.memory.createBank(bank, {
    policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 },
  });
  expect(created.counts.records).toBe(0);
  const progress: number[] = [];
  const added = await engine.memory.addDocuments(
    bank,
    [
      { source: 'iron.txt', text: 'Iron is a metal with symbol Fe. Iron rusts in water and air, forming red iron oxide.' },
      { source: 'cats.txt', text: 'Cats are small felines. A cat purrs and sleeps in the sun all day long.' },
    ],
    { onProgress: (p) => progress.push(p.referencesDone) },
  );
  expect(added.references).toBeGreaterThan(1);
  expect(progress[progress.length - 1]).toBe(added.references);
  expect((await engine.memory.list()).map((b) => b.name)).toContain(bank);
  expect((await engine.memory.stats(bank)).counts.records).toBe(added.references);

  const events: RetrievalEvent[] = [];
  const stream = engine.generate({
    prompt: 'Iron rusts: iron oxide.',
    maxTokens: 8,
    temperature: 0,
    ignoreEos: true,
    memory: { bank },
    onRetrieval: (e) => events.push(e),
  });
  let text = '';
  for await (const d of stream) text += d.text;
  const r = await stream.result;
  expect(text).toBe(r.text);
  expect(events.length).toBe(r.retrievals!.length);
  expect(events[0].references[0].source).toBe('iron.txt');
  expect(events[0].references[0].text).toMatch(/iron/i);

  // Export → import under another name → the same retrieval results and the same output.
  const file = await new Response(await engine.memory.export(bank)).blob();
  expect(file.size).toBeGreaterThan(100);
  const copy = `${bank}-copy`;
  const imported = await engine.memory.import(file, { name: copy });
  expect(imported.counts).toEqual((await engine.memory.stats(bank)).counts);
  const again = await engine.generate({
    prompt: 'Iron rusts: iron oxide.',
    maxTokens: 8,
    temperature: 0,
    ignoreEos: true,
    memory: { bank: copy },
  }).result;
  const strip = (rs: RetrievalEvent[]) => rs.map((e) => ({ ...e, ms: 0, leadMs: 0, waitMs: 0 })); // timings differ run to run
  expect(strip(again.retrievals!)).toEqual(strip(r.retrievals!));
  expect(again.tokens).toEqual(r.tokens);
  await expect(engine.memory.import(file.slice(0, file.size - 7), { name: `${bank}-cut` })).rejects.toMatchObject({
    name: 'TruncatedFileError',
  });
  expect((await engine.memory.list()).map((b) => b.name)).not.toContain(`${bank}-cut`);
  await engine.memory.delete(copy);

  const ctl = new AbortController();
  const aborting = engine.memory.addDocuments(bank, [{ source: 'long.txt', text: 'Sea water. '.repeat(200) }], {
    signal: ctl.signal,
    onProgress: (p) => {
      if (p.referencesDone > 0) ctl.abort();
    },
  });
  await expect(aborting).rejects.toBeInstanceOf(GenerationAbortedError);
  await engine.memory.delete(bank);
  expect((await engine.memory.list()).map((b) => b.name)).not.toContain(bank);
});

test('a cached KV prefix is not reused once the bank or a retrieval knob changed (stale memory rows)', async () => {
  const name = `${bank}-stale`;
  await engine.memory.createBank(name, {
    policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 },
  });
  try {
    await engine.memory.addDocuments(name, [{ source: 'iron.txt', text: 'Iron is a metal with symbol Fe. Iron rusts in water.' }]);
    const ask = (policy = {}) =>
      engine.generate({
        prompt: 'Iron rusts in water and air.',
        maxTokens: 2,
        temperature: 0,
        ignoreEos: true,
        memory: { bank: name, policy },
      }).result;
    await ask();
    // Nothing changed: the prompt's rows are reused (the control that makes the checks below mean something).
    expect((await ask()).usage.cachedPromptTokens).toBeGreaterThan(0);
    // A new document can change what the prompt's chunks retrieve: the rows computed before are stale.
    await engine.memory.addDocuments(name, [{ source: 'rust.txt', text: 'Rust forms when iron meets water and air.' }]);
    const after = await ask();
    expect(after.usage.cachedPromptTokens).toBe(0);
    expect(after.retrievals![0].references.map((r) => r.source)).toContain('rust.txt');
    expect((await ask()).usage.cachedPromptTokens).toBeGreaterThan(0);
    // Another near-copy threshold or relative-score cut retrieves differently, too.
    expect((await ask({ dedupThreshold: 0.5 })).usage.cachedPromptTokens).toBe(0);
    expect((await ask({ minRelativeScore: 0.9 })).usage.cachedPromptTokens).toBe(0);
  } finally {
    await engine.memory.delete(name);
  }
});

test('chat.completions reads memory (stream and not) and returns the retrievals; unknown knobs are refused', async () => {
  const name = `${bank}-chat`;
  await engine.memory.createBank(name, {
    policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 },
  });
  try {
    await engine.memory.addDocuments(name, [
      { source: 'iron.txt', text: 'Iron is a metal with symbol Fe.' },
      { source: 'cats.txt', text: 'Cats are small felines that purr.' },
    ]);
    const messages = [{ role: 'user' as const, content: 'Tell me about iron, the metal.' }];
    // Each call from an empty cache, so each retrieves for every prompt chunk.
    await engine.resetContext();
    const reply = await engine.chat.completions.create({ messages, max_tokens: 6, temperature: 0, memory: { bank: name } });
    expect(reply.retrievals![0].phase).toBe('prompt');
    expect(reply.retrievals![0].references[0].source).toBe('iron.txt');
    await engine.resetContext();
    const direct = await engine.generate({ messages, maxTokens: 6, temperature: 0, memory: { bank: name } }).result;
    expect(reply.choices[0].message.content).toBe(direct.text);
    const chunks = [];
    await engine.resetContext();
    for await (const c of await engine.chat.completions.create({
      messages,
      max_tokens: 6,
      temperature: 0,
      memory: { bank: name },
      stream: true,
    }))
      chunks.push(c);
    const last = chunks[chunks.length - 1];
    expect(last.retrievals!.map((e) => e.references.map((r) => r.id))).toEqual(reply.retrievals!.map((e) => e.references.map((r) => r.id)));
    expect(chunks.slice(0, -1).every((c) => c.retrievals === undefined)).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(direct.text);
    // Without memory there are no retrievals, and the reply is the model's own.
    const plain = await engine.chat.completions.create({ messages, max_tokens: 6, temperature: 0 });
    expect(plain.retrievals).toBeUndefined();
    await expect(
      engine.chat.completions.create({ messages, memory: { bank: name, policy: { tokensPerHead: 2 } as never } }),
    ).rejects.toMatchObject({ name: 'InvalidOptionsError', message: expect.stringContaining('tokensPerHead is fixed by the bank') });
    await expect(engine.chat.completions.create({ messages, memory: { bank: name, policy: { topN: 2 } as never } })).rejects.toMatchObject({
      name: 'InvalidOptionsError',
      message: expect.stringContaining('topN is not a memory policy knob'),
    });
  } finally {
    await engine.memory.delete(name);
  }
});

test('minRelativeScore splices only the references scoring near the best one', async () => {
  const name = `${bank}-cut`;
  await engine.memory.createBank(name, {
    policy: { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 3, retrievalInterval: 24 },
  });
  try {
    await engine.memory.addDocuments(name, [
      { source: 'velde.txt', text: 'Mara Velde was born in Tampere.' },
      { source: 'mara.txt', text: 'Mara Kosk lives in Oulu.' },
      { source: 'born.txt', text: 'Leo Ahl was born in Turku.' },
    ]);
    const ask = (minRelativeScore: number | null) =>
      engine.generate({
        prompt: 'Where was Mara Velde born?',
        maxTokens: 1,
        temperature: 0,
        memory: { bank: name, policy: { minRelativeScore } },
      }).result;
    const all = (await ask(null)).retrievals![0].references;
    expect(all.length).toBe(3);
    expect(all[0].source).toBe('velde.txt');
    const cut = (await ask(0.6)).retrievals![0].references;
    expect(cut.length).toBeGreaterThanOrEqual(1);
    expect(cut.length).toBeLessThan(all.length);
    expect(cut.every((r) => r.score >= 0.6 * cut[0].score)).toBe(true);
    expect(all.filter((r) => r.score >= 0.6 * all[0].score).map((r) => r.id)).toEqual(cut.map((r) => r.id));
    await expect(ask(0)).rejects.toMatchObject({ name: 'InvalidOptionsError', message: expect.stringContaining('minRelativeScore') });
  } finally {
    await engine.memory.delete(name);
  }
});
