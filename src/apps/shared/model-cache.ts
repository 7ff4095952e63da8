/**
 * Downloads a model folder (Hugging Face `resolve/main/` layout) into Cache Storage once, then hands
 * the engine `File`s backed by the cached bytes, so a reload reads no network at all.
 *
 * What is resumable: a file is fetched in parts of `partSize` bytes with `Range` requests when the
 * server answers them with 206 (Hugging Face, Vite, most static hosts). Each finished part is its own
 * cache entry (`<url>?memory3-part=<i>`), so an interrupted download resumes at the first missing
 * part. A server that ignores Range (200) gets the whole file in one request: not resumable. A file
 * counts as cached only once its `?memory3-complete` marker (size and part count) is written; the
 * folder's list of files is a `?memory3-folder` entry, so an offline reload needs no request at all.
 */
import { ggufSplitFiles } from '../../index';
export const modelCacheName = 'memory3-models-v1';
const defaultPartSize = 32 * 2 ** 20;

export interface DownloadProgress {
  file: string;
  /** Bytes of all files so far (cached or downloaded) and the folder's total when known. */
  loaded: number;
  total: number;
  /** Bytes that came from the network in this call (0 on a fully cached reload). */
  downloaded: number;
  message: string;
}

export interface CachedModel {
  files: File[];
  downloadedBytes: number;
  cachedBytes: number;
}

interface FileMarker {
  size: number;
  parts: number;
}
type Fetch = typeof fetch;

const partKey = (url: string, i: number) => `${url}?memory3-part=${i}`;
const markerKey = (url: string) => `${url}?memory3-complete`;
const folderKey = (base: string) => `${base}?memory3-folder`;

function ensureSlash(url: string): string {
  const u = new URL(url, document.baseURI);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

async function readJsonEntry<T>(cache: Cache, key: string): Promise<T | null> {
  const hit = await cache.match(key);
  return hit ? ((await hit.json()) as T) : null;
}

async function cachedFile(cache: Cache, url: string, name: string): Promise<File | null> {
  const marker = await readJsonEntry<FileMarker>(cache, markerKey(url));
  if (!marker) return null;
  const blobs: Blob[] = [];
  for (let i = 0; i < marker.parts; i++) {
    const part = await cache.match(partKey(url, i));
    if (!part) return null;
    blobs.push(await part.blob());
  }
  const file = new File(blobs, name);
  return file.size === marker.size ? file : null;
}

/** Streams `res` into the cache under `key`, counting bytes as they arrive. */
async function putCounting(cache: Cache, key: string, res: Response, onBytes: (n: number) => void): Promise<number> {
  let n = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      n += chunk.byteLength;
      onBytes(chunk.byteLength);
      ctl.enqueue(chunk);
    },
  });
  await cache.put(key, new Response(res.body!.pipeThrough(counter), { headers: { 'content-type': 'application/octet-stream' } }));
  return n;
}

interface Ctx {
  cache: Cache;
  fetchFn: Fetch;
  partSize: number;
  signal?: AbortSignal;
  onBytes: (n: number, fromNetwork: boolean) => void;
}

/** Size and Range support of a remote file, or null when it is absent (404/410). */
async function probe(ctx: Ctx, url: string): Promise<{ size: number | null; ranged: boolean; res: Response } | null> {
  const res = await ctx.fetchFn(url, { headers: { Range: 'bytes=0-0' }, signal: ctx.signal });
  // A model file is never HTML: that is a single-page app's fallback page standing in for a 404.
  if (res.status === 404 || res.status === 410 || (res.ok && /^text\/html/.test(res.headers.get('content-type') ?? ''))) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) throw Object.assign(new Error(`Fetching ${url} failed: HTTP ${res.status}`), { name: 'ModelFetchError' });
  if (res.status === 206) {
    await res.body?.cancel();
    const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
    return { size: m ? Number(m[1]) : null, ranged: m !== null, res };
  }
  const len = res.headers.get('content-length');
  return { size: len && /^\d+$/.test(len) ? Number(len) : null, ranged: false, res };
}

/** One file into the cache (resuming from stored parts); null when the server has no such file. */
async function downloadFile(ctx: Ctx, url: string): Promise<FileMarker | null> {
  const head = await probe(ctx, url);
  if (!head) return null;
  if (!head.ranged || head.size === null) {
    const size = await putCounting(ctx.cache, partKey(url, 0), head.res, (n) => ctx.onBytes(n, true));
    return { size, parts: 1 };
  }
  const parts = Math.max(1, Math.ceil(head.size / ctx.partSize));
  for (let i = 0; i < parts; i++) {
    const start = i * ctx.partSize,
      end = Math.min(head.size, start + ctx.partSize) - 1;
    const stored = await ctx.cache.match(partKey(url, i));
    if (stored && Number(stored.headers.get('x-memory3-bytes')) === end - start + 1) {
      ctx.onBytes(end - start + 1, false);
      continue;
    }
    const res = await ctx.fetchFn(url, { headers: { Range: `bytes=${start}-${end}` }, signal: ctx.signal });
    if (res.status !== 206)
      throw Object.assign(new Error(`Range request for ${url} answered HTTP ${res.status}`), { name: 'ModelFetchError' });
    const body = await new Response(
      res.body!.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            ctx.onBytes(chunk.byteLength, true);
            ctl.enqueue(chunk);
          },
        }),
      ),
    ).blob();
    if (body.size !== end - start + 1)
      throw Object.assign(new Error(`${url}: part ${i} has ${body.size} bytes, expected ${end - start + 1}`), {
        name: 'TruncatedFileError',
      });
    await ctx.cache.put(partKey(url, i), new Response(body, { headers: { 'x-memory3-bytes': String(body.size) } }));
  }
  return { size: head.size, parts };
}

async function getFile(ctx: Ctx, url: string, name: string): Promise<File | null> {
  const hit = await cachedFile(ctx.cache, url, name);
  if (hit) {
    ctx.onBytes(hit.size, false);
    return hit;
  }
  const marker = await downloadFile(ctx, url);
  if (!marker) return null;
  await ctx.cache.put(markerKey(url), Response.json(marker));
  return cachedFile(ctx.cache, url, name);
}

/**
 * The folder's file names: from the cached list, else discovered (index.json shards or one
 * safetensors); for a GGUF model, its file and the other splits its name implies.
 */
async function listFolder(ctx: Ctx, base: string, gguf: string | null): Promise<{ names: string[]; files: Map<string, File> }> {
  const known = await readJsonEntry<string[]>(ctx.cache, folderKey(base + (gguf ?? '')));
  if (known) return { names: known, files: new Map() };
  if (gguf) return { names: ggufSplitFiles(gguf), files: new Map() };
  const files = new Map<string, File>();
  const names: string[] = [];
  for (const [name, optional] of [
    ['config.json', false],
    ['tokenizer.json', false],
    ['tokenizer_config.json', true],
    ['generation_config.json', true],
  ] as const) {
    const f = await getFile(ctx, base + name, name);
    if (f) {
      files.set(name, f);
      names.push(name);
    } else if (!optional) throw Object.assign(new Error(`${name} not found at ${base}`), { name: 'ModelFetchError' });
  }
  const index = await getFile(ctx, `${base}model.safetensors.index.json`, 'model.safetensors.index.json');
  if (index) {
    files.set(index.name, index);
    names.push(index.name);
    const map = (JSON.parse(await index.text()) as { weight_map?: Record<string, string> }).weight_map ?? {};
    names.push(...new Set(Object.values(map)));
  } else names.push('model.safetensors');
  return { names, files };
}

/**
 * The folder at `baseUrl` as cached `File`s (downloading what is missing). `fetchFn` is injectable
 * for tests; `partSize` is the resume granularity.
 */
export async function cachedModelFiles(
  baseUrl: string,
  opts: {
    onProgress?: (p: DownloadProgress) => void;
    signal?: AbortSignal;
    partSize?: number;
    fetchFn?: Fetch;
  } = {},
): Promise<CachedModel> {
  // A .gguf URL (…/resolve/main/model-Q4_K_M.gguf) names one file of its folder, plus its splits.
  const gguf = /^(.*\/)([^/?#]+\.gguf)(?:[?#].*)?$/i.exec(baseUrl);
  const base = gguf ? gguf[1] : ensureSlash(baseUrl);
  const cache = await caches.open(modelCacheName);
  let loaded = 0,
    downloaded = 0,
    current = 'file list';
  const report = () =>
    opts.onProgress?.({
      file: current,
      loaded,
      total: 0,
      downloaded,
      message: `${downloaded > 0 ? 'Downloading' : 'Reading cached'} ${current}`,
    });
  const ctx: Ctx = {
    cache,
    fetchFn: opts.fetchFn ?? ((i, init) => fetch(i, init)),
    partSize: opts.partSize ?? defaultPartSize,
    signal: opts.signal,
    onBytes: (n, net) => {
      loaded += n;
      if (net) downloaded += n;
      report();
    },
  };
  const { names, files } = await listFolder(ctx, base, gguf ? decodeURIComponent(gguf[2]) : null);
  for (const name of names) {
    if (files.has(name)) continue;
    current = name;
    const f = await getFile(ctx, base + name, name);
    if (!f) throw Object.assign(new Error(`${name} not found at ${base}`), { name: 'ModelFetchError' });
    files.set(name, f);
  }
  await cache.put(folderKey(base + (gguf ? decodeURIComponent(gguf[2]) : '')), Response.json(names));
  return { files: names.map((n) => files.get(n)!), downloadedBytes: downloaded, cachedBytes: loaded - downloaded };
}

/** Model folders in the cache, with their stored bytes. */
export async function listCachedModels(): Promise<{ base: string; bytes: number }[]> {
  const cache = await caches.open(modelCacheName);
  const out: { base: string; bytes: number }[] = [];
  for (const req of await cache.keys()) {
    if (!req.url.endsWith('?memory3-folder')) continue;
    const base = req.url.slice(0, -'?memory3-folder'.length);
    const dir = /\.gguf$/i.test(base) ? base.slice(0, base.lastIndexOf('/') + 1) : base; // a GGUF model: its folder
    let bytes = 0;
    for (const name of (await readJsonEntry<string[]>(cache, req.url)) ?? []) {
      bytes += (await readJsonEntry<FileMarker>(cache, markerKey(dir + name)))?.size ?? 0;
    }
    out.push({ base, bytes });
  }
  return out;
}

export async function forgetCachedModels(): Promise<boolean> {
  return caches.delete(modelCacheName);
}
