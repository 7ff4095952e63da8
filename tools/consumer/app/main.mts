/**
 * A consumer app's entry (copied into a fresh Vite app as src/main.ts by tools/consumer/run.ts):
 * imports memory3-web as installed from its npm tarball, loads the model in public/models/llama/,
 * streams `?n=` greedy tokens for `?prompt=` into #text and writes the outcome as JSON into #result
 * (data-status "done" or "error").
 */
import { createEngine, Memory3Error, type GenerationResult } from 'memory3-web';

const params = new URLSearchParams(location.search);
const promptText = params.get('prompt') ?? 'The cat sat on the mat';
const maxTokens = Number(params.get('n') ?? 8);
const textEl = document.querySelector<HTMLParagraphElement>('#text')!;
const resultEl = document.querySelector<HTMLPreElement>('#result')!;

async function run(): Promise<{ prompt: number[]; streamed: string; result: GenerationResult }> {
  const engine = await createEngine({ model: new URL('models/llama/', document.baseURI).href, contextLength: 64 });
  try {
    const prompt = await engine.tokenize(promptText);
    const stream = engine.generate({ tokens: prompt, maxTokens, temperature: 0, ignoreEos: true });
    for await (const delta of stream) textEl.textContent += delta.text;
    return { prompt, streamed: textEl.textContent ?? '', result: await stream.result };
  } finally {
    await engine.dispose();
  }
}

run().then(
  ({ prompt, streamed, result }) => {
    resultEl.textContent = JSON.stringify({
      prompt,
      tokens: result.tokens,
      text: result.text,
      streamed,
      finishReason: result.finishReason,
    });
    resultEl.dataset.status = 'done';
  },
  (err: unknown) => {
    const named = err instanceof Memory3Error ? 'Memory3Error ' : '';
    resultEl.textContent = `${named}${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)}`;
    resultEl.dataset.status = 'error';
  },
);
