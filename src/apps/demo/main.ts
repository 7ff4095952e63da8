/** The demo page: load a model (embedded default, URL or local folder), generate with streaming. */
import { createEngine, type LoadProgress, type Memory3Engine } from '../../index';
import { describeError } from './messages';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('load-status'), progress = $<HTMLProgressElement>('load-progress'), errorBox = $('error');
const output = $('output'), stats = $('stats'), genBtn = $<HTMLButtonElement>('generate'), stopBtn = $<HTMLButtonElement>('stop');
let engine: Memory3Engine | null = null;
let aborter: AbortController | null = null;
const history: { role: 'user' | 'assistant'; content: string }[] = [];

function showError(err: unknown): void {
  errorBox.hidden = false;
  errorBox.textContent = describeError(err);
  console.error(err);
}

function onProgress(p: LoadProgress): void {
  progress.hidden = p.phase === 'ready';
  progress.max = Math.max(1, p.total);
  progress.value = p.loaded;
  const pct = p.total > 1 ? ` ${(100 * p.loaded / p.total).toFixed(0)}%` : '';
  status.textContent = `${p.message}${pct}`;
}

async function load(model: string | File[]): Promise<void> {
  errorBox.hidden = true;
  genBtn.disabled = true;
  await engine?.dispose();
  engine = null;
  history.length = 0;
  try {
    engine = await createEngine({
      model, onProgress,
      onStateChange: (s, detail) => {
        if (s === 'lost') showError(Object.assign(new Error(detail ?? ''), { name: 'DeviceLostError' }));
      },
    });
    const i = engine.info, mb = (b: number) => (b / 2 ** 20).toFixed(1);
    $('model-info').textContent = `${i.architecture}: ${i.numLayers} layers, hidden ${i.hiddenSize}, ${i.numHeads}/${i.numKvHeads} heads × ${i.headDim}, ` +
      `vocab ${i.vocabSize}, context ${i.contextLength}, ${i.weightDtype} weights. GPU memory: weights ${mb(i.gpuBytes.weights)} MiB, ` +
      `KV cache ${mb(i.gpuBytes.kvCache)} MiB, activations ${mb(i.gpuBytes.activations)} MiB. Adapter: ${i.adapter.vendor} ${i.adapter.architecture}.`;
    genBtn.disabled = false;
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = 'Loading failed.';
    progress.hidden = true;
    showError(err);
  }
}

async function generate(): Promise<void> {
  if (!engine) return;
  errorBox.hidden = true;
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  history.push({ role: 'user', content: ($('prompt') as HTMLTextAreaElement).value });
  aborter = new AbortController();
  genBtn.disabled = true; stopBtn.disabled = false;
  output.textContent = '';
  try {
    const chunks = await engine.chat.completions.create({
      messages: history, stream: true, signal: aborter.signal,
      max_tokens: num('max-tokens'), temperature: num('temperature'), top_p: num('top-p'), top_k: num('top-k'), seed: num('seed'),
    });
    let reply = '';
    for await (const chunk of chunks) {
      reply += chunk.choices[0].delta.content ?? '';
      output.textContent = reply;
      const u = chunk.usage;
      if (u) {
        stats.textContent = `${u.prompt_tokens} prompt tokens (${u.extra.cached_prompt_tokens} cached), ${u.completion_tokens} generated · ` +
          `first token ${u.extra.time_to_first_token_ms.toFixed(0)} ms · prefill ${u.extra.prefill_tokens_per_s.toFixed(1)} tok/s · ` +
          `decode ${u.extra.decode_tokens_per_s.toFixed(1)} tok/s · finish: ${chunk.choices[0].finish_reason}`;
      }
    }
    history.push({ role: 'assistant', content: reply });
    document.body.dataset.generated = String(Number(document.body.dataset.generated ?? 0) + 1);
  } catch (err) {
    history.pop();
    if ((err as Error).name === 'GenerationAbortedError') stats.textContent = 'Stopped.';
    else showError(err);
  } finally {
    genBtn.disabled = !engine || engine.state === 'lost'; stopBtn.disabled = true; aborter = null;
  }
}

$('load-default').addEventListener('click', () => void load(new URL('models/default/', document.baseURI).href));
$('load-url').addEventListener('click', () => void load(($('model-url') as HTMLInputElement).value));
$('model-files').addEventListener('change', (e) => void load([...((e.target as HTMLInputElement).files ?? [])]));
genBtn.addEventListener('click', () => void generate());
stopBtn.addEventListener('click', () => aborter?.abort());
if (new URLSearchParams(location.search).has('autoload')) void load(new URL('models/default/', document.baseURI).href);
