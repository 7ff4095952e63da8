/** Loading: the embedded default, a URL (through the Cache Storage downloader) or local files; progress and storage. */
import { AdapterLimitError, createEngine, type LoadProgress } from '../../index';
import { cachedModelFiles, forgetCachedModels, type DownloadProgress } from '../shared/model-cache';
import { mib, requestPersistence } from '../shared/storage';
import { installDefaultBank } from './knowledge-panel';
import { refreshStorage } from './storage-status';
import { $, app, clearError, engineChanged, flag, showError } from './ui';

const partSize = Number(new URLSearchParams(location.search).get('partSize')) || undefined;

function bar(name: 'download' | 'weights' | 'compile', loaded: number, total: number, text: string): void {
  const b = $<HTMLProgressElement>(`bar-${name}`);
  b.max = Math.max(1, total);
  b.value = Math.min(loaded, b.max);
  $(`txt-${name}`).textContent = text;
}

function onDownload(p: DownloadProgress): void {
  bar('download', p.loaded, Math.max(p.loaded, 1), ` ${mib(p.loaded)} (${mib(p.downloaded)} from the network) · ${p.file}`);
}

function onLoadProgress(p: LoadProgress): void {
  const pct = p.total > 0 ? ` ${((100 * p.loaded) / p.total).toFixed(0)}%` : '';
  if (p.phase === 'weights') bar('weights', p.loaded, p.total, ` ${mib(p.loaded)} / ${mib(p.total)}`);
  if (p.phase === 'compile') bar('compile', p.loaded, p.total, ` ${p.loaded} / ${p.total} pipelines`);
  if (p.phase === 'ready') {
    bar('weights', 1, 1, ' done');
    bar('compile', 1, 1, ' done');
  }
  $('load-status').textContent = `${p.message}${pct}`;
}

function describeModel(): string {
  const i = app.engine!.info;
  const g = i.gpuBytes;
  return (
    `${i.architecture}: ${i.numLayers} layers, hidden ${i.hiddenSize}, ${i.numHeads}/${i.numKvHeads} heads × ${i.headDim}, vocab ${i.vocabSize}, ` +
    `context ${i.contextLength}, ${i.format === 'gguf' ? 'GGUF' : 'safetensors'} ${Object.keys(i.weightFormats)
      .filter((f) => f !== 'f32' || i.weightDtype === 'f32')
      .join('+')} weights. GPU memory ${mib(g.weights + g.kvCache + g.activations)}: weights ${mib(g.weights)}, ` +
    `KV cache ${mib(g.kvCache)}, activations ${mib(g.activations)}. Adapter: ${i.adapter.vendor} ${i.adapter.architecture}${i.adapter.shaderF16 ? ' (shader-f16)' : ''}.`
  );
}

async function resolveModel(model: string | File[]): Promise<File[]> {
  if (typeof model !== 'string') return model;
  bar('download', 0, 1, ' starting');
  const got = await cachedModelFiles(model, { onProgress: onDownload, partSize });
  const source =
    got.downloadedBytes === 0
      ? 'all from the browser cache, nothing downloaded'
      : `${mib(got.downloadedBytes)} downloaded, ${mib(got.cachedBytes)} from cache`;
  bar('download', 1, 1, ` ${mib(got.downloadedBytes + got.cachedBytes)}: ${source}`);
  flag('downloaded', got.downloadedBytes);
  return got.files;
}

const defaultModel = 'memory3-tiny';
const defaultUrl = () => new URL(`models/${defaultModel}/`, document.baseURI).href;

export async function loadModel(model: string | File[]): Promise<void> {
  clearError();
  await app.engine?.dispose();
  app.engine = null;
  engineChanged();
  app.reload = () => loadModel(model);
  $('load-bars').hidden = false;
  for (const n of ['download', 'weights', 'compile'] as const) bar(n, 0, 1, '');
  if (typeof model !== 'string') bar('download', 1, 1, ` local files: ${model.length}, nothing downloaded`);
  try {
    const files = await resolveModel(model);
    app.engine = await createEngine({
      model: files,
      onProgress: onLoadProgress,
      onStateChange: (s, detail) => {
        if (s === 'lost') {
          showError(Object.assign(new Error(detail ?? 'device lost'), { name: 'DeviceLostError' }));
          engineChanged();
        }
      },
    });
    $('model-info').textContent = describeModel();
    $('load-status').textContent = 'Ready.';
  } catch (err) {
    $('load-status').textContent = 'Loading failed.';
    if (err instanceof AdapterLimitError) $('load-status').textContent += " The GPU adapter's limits are too small for this model.";
    showError(err);
  }
  engineChanged();
  if (app.engine && model === defaultUrl()) await installDefaultBank(defaultModel);
  if (app.engine) flag('ready');
  void refreshStorage();
}

/** Every file under a dropped folder (DataTransferItem.webkitGetAsEntry). */
async function filesOfEntry(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((ok, bad) => (entry as FileSystemFileEntry).file(ok, bad))];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, bad) => reader.readEntries(ok, bad));
    if (!batch.length) return out;
    for (const e of batch) out.push(...(await filesOfEntry(e)));
  }
}

function wireDropZone(): void {
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
    void Promise.all(entries.map(filesOfEntry)).then((lists) => loadModel(lists.flat()), showError);
  });
}

export function wireModelPanel(): void {
  $('load-default').addEventListener('click', () => void loadModel(defaultUrl()));
  $('load-url').addEventListener('click', () => void loadModel($<HTMLInputElement>('model-url').value.trim()));
  $('model-files').addEventListener('change', (e) => void loadModel([...((e.target as HTMLInputElement).files ?? [])]));
  $('model-gguf').addEventListener('change', (e) => void loadModel([...((e.target as HTMLInputElement).files ?? [])]));
  $('persist').addEventListener('click', () => void requestPersistence().then(refreshStorage));
  $('forget-models').addEventListener('click', () => void forgetCachedModels().then(refreshStorage));
  $('reload-engine').addEventListener('click', () => void app.reload?.());
  wireDropZone();
  void refreshStorage();
  if (new URLSearchParams(location.search).has('autoload')) void loadModel(defaultUrl());
}
