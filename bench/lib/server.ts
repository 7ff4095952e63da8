/**
 * The bench's Vite dev server: the repo's vite.config.ts (so src/ and the worker are served exactly as
 * in the tests) plus a `/bench-files/` route for bench/.cache. Vite's static server skips dot-folders,
 * so the route serves those files itself, with HEAD and single byte ranges like a model host.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { repoRoot } from '../../tools/fixtures/writeFixtures';

export const filesRoute = '/bench-files/';

export interface BenchServer {
  url: string; // e.g. http://127.0.0.1:5199
  close(): Promise<void>;
}

/** Parses `bytes=a-b` / `bytes=a-` / `bytes=-n` against a file size; null when absent, 'bad' when unsatisfiable. */
function parseRange(header: string | undefined, size: number): [number, number] | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start: number, end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'bad' : [start, end];
}

function serveFile(dir: string, req: IncomingMessage, res: ServerResponse): void {
  const rel = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
  const path = normalize(join(dir, rel));
  let size: number;
  try {
    if (!path.startsWith(dir + sep)) throw new Error('outside');
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  const range = parseRange(req.headers.range, size);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(crossOriginIsolation)) res.setHeader(k, v);
  if (range === 'bad') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  res.statusCode = range ? 206 : 200;
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(path, { start, end }).pipe(res);
}

/** COOP + COEP: the bench pages are cross-origin isolated (everything they load is same-origin). */
export const crossOriginIsolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Serves `dir` (absolute) under filesRoute. */
function benchFilesPlugin(dir: string): Plugin {
  return {
    name: 'bench-files',
    configureServer(server) {
      server.middlewares.use(filesRoute, (req, res) => serveFile(dir, req, res));
    },
  };
}

/** Starts the dev server on a free port; `filesDir` is served under /bench-files/. */
export async function startBenchServer(filesDir: string): Promise<BenchServer> {
  const server: ViteDevServer = await createServer({
    configFile: join(repoRoot, 'vite.config.ts'),
    root: repoRoot,
    logLevel: 'warn',
    clearScreen: false,
    plugins: [benchFilesPlugin(filesDir)],
    server: {
      host: '127.0.0.1',
      port: 5199,
      strictPort: false,
      hmr: false,
      watch: null,
      // Transform the page's and the worker's import graphs up front, so dependencies Vite has not
      // pre-bundled yet are discovered before the browser asks for them (else: HTTP 504, outdated dep).
      warmup: { clientFiles: ['./bench/page.ts', './src/worker/worker.ts'] },
      // Cross-origin isolation (SharedArrayBuffer): wllama's wasm runs multi-threaded only then.
      headers: crossOriginIsolation,
    },
  });
  await server.listen();
  await server.waitForRequestsIdle();
  const url = server.resolvedUrls?.local[0]?.replace(/\/$/, '');
  if (!url) throw new Error('bench: the Vite dev server did not report a local URL');
  return { url, close: () => server.close() };
}
