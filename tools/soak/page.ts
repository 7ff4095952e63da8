/**
 * The long soak's page (tools/soak/page.html): the default model and its shipped knowledge bank,
 * then runSoak (test/helpers/soak.ts); the worker's heap comes from tools/soak/run.ts through the
 * exposed `soakHeap()`, progress goes to the console with the `soak:` prefix.
 */
import { createEngine } from '../../src/index';
import { runSoak, type SoakReport } from '../../test/helpers/soak';

/** tools/soak/run.ts finds the engine's worker by this name. */
const workerName = 'memory3-soak';

async function run(o: {
  turns: number;
  heapEvery: number;
}): Promise<SoakReport & { modelFingerprint: string; contextLength: number; adapter: string }> {
  const worker = new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module', name: workerName });
  const engine = await createEngine({ model: '/models/memory3-tiny/', worker });
  const bank = 'memory3-tiny-knowledge';
  if (!(await engine.memory.list()).some((b) => b.name === bank)) {
    const res = await fetch('/banks/memory3-tiny-knowledge.m3bank');
    await engine.memory.import(await res.blob(), { name: bank });
  }
  const questions = [
    'What is the symbol of iron?',
    'Tell me about helium.',
    'What is the atomic number of carbon?',
    'Which element has the symbol Na?',
    'Describe copper.',
    'What does the word harbour mean?',
    'What is neon used for?',
  ];
  const report = await runSoak(engine, {
    turns: o.turns,
    swapEvery: 25,
    maxTokens: 24,
    contextLength: engine.info.contextLength,
    retrievalInterval: 8,
    heapEvery: o.heapEvery,
    memories: [
      { name: 'knowledge × 5', bank, memoriesPerRetrieval: 5 },
      { name: 'knowledge × 3', bank, memoriesPerRetrieval: 3 },
    ],
    questions,
    heap: () => (window as unknown as { soakHeap: () => Promise<number> }).soakHeap(),
    clearWordCache: true,
    onTurn: (turn, s) => {
      if ((turn + 1) % 50 === 0)
        console.log(
          `soak: turn ${turn + 1}: ${s.buffers} buffers, ${s.bufferBytes} bytes, heap ${s.heap ?? '-'}, ${s.tokenizerWords} words in the BPE cache`,
        );
    },
  });
  const info = {
    modelFingerprint: '',
    contextLength: engine.info.contextLength,
    adapter: `${engine.info.adapter.vendor} ${engine.info.adapter.architecture}`.trim(),
  };
  await engine.dispose();
  return { ...report, ...info };
}

(window as unknown as { memory3Soak: { run: typeof run } }).memory3Soak = { run };
