/** Streaming generation with sampling controls, stop, live figures, and retrieval events for the inspector. */
import type { ChatMessage, GenerateRequest, GenerationUsage } from '../../index';
import { mib } from '../shared/storage';
import { addRetrieval, clearInspector } from './inspector';
import { $, app, bump, clearError, showError } from './ui';

const history: ChatMessage[] = [];
let aborter: AbortController | null = null;

const num = (id: string) => Number($<HTMLInputElement>(id).value);

function gpuLine(): string {
  const g = app.engine?.info.gpuBytes;
  return g ? `GPU memory ${mib(g.weights + g.kvCache + g.activations)}` : '';
}

function finalFigures(u: GenerationUsage, finish: string): string {
  return [
    `${u.promptTokens} prompt tokens (${u.cachedPromptTokens} reused from the KV cache)`,
    `${u.completionTokens} generated`,
    `time to first token ${u.timeToFirstTokenMs.toFixed(0)} ms`,
    `prefill ${u.prefillTokensPerSecond.toFixed(1)} tok/s`,
    `decode ${u.decodeTokensPerSecond.toFixed(1)} tok/s`,
    gpuLine(),
    `finish: ${finish}`,
  ].join(' · ');
}

function request(signal: AbortSignal): GenerateRequest & { signal: AbortSignal } {
  const prompt = $<HTMLTextAreaElement>('prompt').value;
  const bank = $<HTMLSelectElement>('use-bank').value;
  const chat = $<HTMLInputElement>('chat-mode').checked && app.engine!.info.hasChatTemplate;
  if (chat) history.push({ role: 'user', content: prompt });
  return {
    ...(chat ? { messages: [...history] } : { prompt }),
    signal,
    maxTokens: num('max-tokens'),
    temperature: num('temperature'),
    topP: num('top-p'),
    topK: num('top-k'),
    repetitionPenalty: num('rep-penalty'),
    seed: num('seed'),
    ...(bank ? { memory: { bank } } : {}),
  };
}

async function generate(): Promise<void> {
  const engine = app.engine;
  if (!engine) return;
  clearError();
  clearInspector();
  aborter = new AbortController();
  setBusy(true);
  const out = $('output'),
    live = $('live');
  out.replaceChildren();
  const req = request(aborter.signal);
  const t0 = performance.now();
  let firstAt = 0,
    tokens = 0,
    text = '';
  try {
    const stream = engine.generate({ ...req, onRetrieval: addRetrieval });
    for await (const d of stream) {
      if (!firstAt) firstAt = performance.now();
      const span = document.createElement('span');
      span.dataset.t0 = String(tokens);
      tokens += d.tokens.length;
      span.dataset.t1 = String(tokens);
      span.textContent = d.text;
      out.append(span);
      text += d.text;
      const decodeS = (performance.now() - firstAt) / 1000;
      live.textContent =
        `streaming… ${tokens} tokens · first token after ${(firstAt - t0).toFixed(0)} ms · ` +
        `decode ${decodeS > 0 ? ((tokens - 1) / decodeS).toFixed(1) : '–'} tok/s · ${gpuLine()}`;
    }
    const r = await stream.result;
    live.textContent = finalFigures(r.usage, r.finishReason);
    if (req.messages) history.push({ role: 'assistant', content: text });
    bump('generated');
  } catch (err) {
    if (req.messages) history.pop();
    if ((err as Error).name === 'GenerationAbortedError') live.textContent = `Stopped after ${tokens} tokens.`;
    else showError(err);
  } finally {
    aborter = null;
    setBusy(false);
  }
}

function setBusy(busy: boolean): void {
  const usable = !!app.engine && app.engine.state !== 'lost' && app.engine.state !== 'disposed';
  $<HTMLButtonElement>('generate').disabled = busy || !usable;
  $<HTMLButtonElement>('reset').disabled = busy || !usable;
  $<HTMLButtonElement>('stop').disabled = !busy;
}

export function wireGeneratePanel(): void {
  $('generate').addEventListener('click', () => void generate());
  $('stop').addEventListener('click', () => aborter?.abort());
  $('reset').addEventListener('click', () => {
    history.length = 0;
    $('output').replaceChildren();
    $('live').textContent = 'New conversation: the next message starts from an empty context.';
    clearInspector();
  });
  app.listeners.add(() => {
    history.length = 0;
    setBusy(false);
  });
}
