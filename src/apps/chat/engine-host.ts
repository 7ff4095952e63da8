/** The chat's engine: loaded from the app's own /models/ (cached by the service worker), with lost-device recovery. */
import { createEngine, type Memory3Engine } from '../../index';
import { describeError } from '../shared/messages';

export const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const host: { engine: Memory3Engine | null; onChange: () => void } = { engine: null, onChange: () => {} };

export function showAlert(err: unknown, offerReload = false): void {
  el('alert').hidden = false;
  el('alert-text').textContent = describeError(err);
  el('reload-engine').hidden = !offerReload;
  console.error(err);
}

export function hideAlert(): void {
  el('alert').hidden = true;
}

function modelUrl(): string {
  const given = new URLSearchParams(location.search).get('model');
  return new URL(given ?? 'models/memory3-tiny/', document.baseURI).href;
}

export async function startEngine(): Promise<void> {
  await host.engine?.dispose();
  host.engine = null;
  host.onChange();
  hideAlert();
  const status = el('model-status'), bar = el<HTMLProgressElement>('model-progress');
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
    const i = host.engine.info, g = i.gpuBytes;
    status.textContent = `${i.architecture} · ${i.numLayers} layers · context ${i.contextLength} · GPU ${((g.weights + g.kvCache + g.activations) / 2 ** 20).toFixed(1)} MiB`;
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = 'The model could not be loaded.';
    showAlert(err, true);
  }
  bar.hidden = true;
  host.onChange();
}
