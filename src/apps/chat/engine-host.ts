/** The chat's engine: loaded from the app's own /models/ (cached by the service worker), with lost-device recovery. */
import { createEngine, type Memory3Engine } from '../../index';
import { ensureBundledBank } from '../shared/bundled-bank';
import { describeError } from '../shared/messages';

export const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const host: {
  engine: Memory3Engine | null;
  /** The knowledge bank shipped with the default model, once installed: new conversations read it. */
  defaultBank: string | null;
  /** Questions that bank answers (its manifest's examples), offered in an empty conversation. */
  examples: { question: string; answer: string }[];
  onChange: () => void;
} = { engine: null, defaultBank: null, examples: [], onChange: () => {} };

export function showAlert(err: unknown, offerReload = false): void {
  el('alert').hidden = false;
  el('alert-text').textContent = describeError(err);
  el('reload-engine').hidden = !offerReload;
  console.error(err);
}

export function hideAlert(): void {
  el('alert').hidden = true;
}

const defaultModel = 'memory3-tiny';

function modelUrl(): string {
  const given = new URLSearchParams(location.search).get('model');
  return new URL(given ?? `models/${defaultModel}/`, document.baseURI).href;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/** Installs the default model's knowledge bank (first visit only); a failure leaves the chat usable without it. */
async function installBundledBank(engine: Memory3Engine): Promise<void> {
  if (new URLSearchParams(location.search).has('model')) return;
  const status = el('model-status'),
    bar = el<HTMLProgressElement>('model-progress'),
    ready = status.textContent;
  try {
    const r = await ensureBundledBank(engine, new URL(`banks/${defaultModel}-knowledge.json`, document.baseURI).href, defaultModel, {
      onProgress: ({ loaded, total }) => {
        bar.hidden = false;
        bar.max = total;
        bar.value = loaded;
        status.textContent = `Installing the knowledge bank: ${mib(loaded)} / ${mib(total)} MiB`;
      },
    });
    host.defaultBank = r?.name ?? null;
    host.examples = r?.manifest.examples ?? [];
    status.textContent = r?.installed ? `${ready} · knowledge bank installed (${r.manifest.references} references)` : ready;
  } catch (err) {
    status.textContent = `${ready} · the knowledge bank could not be installed`;
    showAlert(err);
  }
  bar.hidden = true;
}

export async function startEngine(): Promise<void> {
  await host.engine?.dispose();
  host.engine = null;
  host.onChange();
  hideAlert();
  const status = el('model-status'),
    bar = el<HTMLProgressElement>('model-progress');
  bar.hidden = false;
  try {
    host.engine = await createEngine({
      model: modelUrl(),
      onProgress: (p) => {
        status.textContent = p.message;
        bar.max = Math.max(1, p.total);
        bar.value = p.loaded;
      },
      onStateChange: (s, detail) => {
        if (s !== 'lost') return;
        showAlert(Object.assign(new Error(detail ?? 'device lost'), { name: 'DeviceLostError' }), true);
        status.textContent = 'GPU lost.';
        host.onChange();
      },
    });
    const i = host.engine.info,
      g = i.gpuBytes;
    status.textContent = `${i.architecture} · ${i.numLayers} layers · context ${i.contextLength} · GPU ${((g.weights + g.kvCache + g.activations) / 2 ** 20).toFixed(1)} MiB`;
    await installBundledBank(host.engine);
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = 'The model could not be loaded.';
    showAlert(err, true);
  }
  bar.hidden = true;
  host.onChange();
}
