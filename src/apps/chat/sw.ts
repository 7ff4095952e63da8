/**
 * The chat's service worker. Precache: the app shell (Workbox precache, replaced on each app update;
 * cleanupOutdatedCaches only touches precaches). Runtime: files under /models/ and /banks/ are
 * cache-first in `memory3-models-v1`, a cache no app update deletes (bank files excepted: see below).
 * A missing file is downloaded whole once; Range requests are answered from the cached copy (206),
 * HEAD from its headers, and a 404 is remembered so that probing optional files works offline. On
 * install it fetches the embedded default model and its bank manifest, so one online visit is enough
 * to chat offline. The engine itself runs in the page's dedicated worker, never here (browsers stop
 * idle service workers).
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { createPartialResponse } from 'workbox-range-requests';
import { NavigationRoute, registerRoute } from 'workbox-routing';

interface InstallEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
declare const self: {
  __WB_MANIFEST: Array<{ url: string; revision: string | null }>;
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install', listener: (e: InstallEvent) => void): void;
};

export const modelCacheName = 'memory3-models-v1';
const defaultModelFiles = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'model.safetensors.index.json',
  'model.safetensors',
];
const inflight = new Map<string, Promise<void>>();

/** Fetches `url` whole into the model cache (a 404, or an HTML fallback page, is stored as a 404). */
async function store(cache: Cache, url: string): Promise<void> {
  const res = await fetch(url, { cache: 'no-store' });
  const html = res.ok && /^text\/html/.test(res.headers.get('content-type') ?? '');
  if (res.status === 404 || html) await cache.put(url, new Response(null, { status: 404, statusText: 'Not Found' }));
  else if (res.status === 200) await cache.put(url, res);
  else throw new Error(`${url}: HTTP ${res.status}`);
}

async function cached(url: string): Promise<Response> {
  const cache = await caches.open(modelCacheName);
  const hit = await cache.match(url);
  if (hit) return hit;
  let p = inflight.get(url);
  if (!p) {
    p = store(cache, url).finally(() => inflight.delete(url));
    inflight.set(url, p);
  }
  await p;
  return (await cache.match(url))!;
}

// Bank files (.m3bank) pass through: the page streams one into IndexedDB once, with progress, and a
// second copy in the cache would only double the storage it takes. Their small manifests are cached.
const isRuntimeFile = ({ url, sameOrigin }: { url: URL; sameOrigin: boolean }) =>
  sameOrigin && /\/(models|banks)\//.test(url.pathname) && !url.pathname.endsWith('.m3bank');

registerRoute(
  isRuntimeFile,
  async ({ request }) => {
    const full = await cached(request.url);
    return request.headers.has('range') && full.status === 200 ? createPartialResponse(request, full) : full;
  },
  'GET',
);

registerRoute(
  isRuntimeFile,
  async ({ request }) => {
    const full = await cached(request.url);
    return new Response(null, { status: full.status, statusText: full.statusText, headers: full.headers });
  },
  'HEAD',
);

self.addEventListener('install', (e) => {
  const base = new URL('models/memory3-tiny/', location.href).href;
  const bankManifest = new URL('banks/memory3-tiny-knowledge.json', location.href).href;
  e.waitUntil(Promise.all([...defaultModelFiles.map((f) => base + f), bankManifest].map((url) => cached(url).catch(() => undefined))));
});

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html')));
void self.skipWaiting();
clientsClaim();
