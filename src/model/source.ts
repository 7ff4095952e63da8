/**
 * Where model files come from: a URL (Hugging Face `resolve/main` layout or any static folder), files the
 * user picked or dropped, or bytes in memory (tests). The loader reads through `stream()` byte ranges and
 * never holds a whole weight file.
 */
import { ModelConfigError, ModelFetchError } from '../util/errors';
import { isHtmlPath, isWebPageResponse, looksLikeWebPage, webPageError } from '../util/web-page';

export interface ModelSource {
  readonly description: string;
  /** The model file the source was named by (a `.gguf` URL), when it names one rather than a folder. */
  readonly entry?: string;
  /** Every file's path, for sources that can list them (picked files, memory); URLs cannot. */
  list?(): string[];
  /** Whole small file as text (config.json, tokenizer.json, …). */
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes, or null when the server does not say. Missing file → ModelFetchError. */
  size(path: string): Promise<number | null>;
  /** Bytes [start, end) (end exclusive, defaults to end of file); a range past the end is clamped. */
  stream(path: string, start?: number, end?: number): Promise<ReadableStream<Uint8Array>>;
}

function checkRange(path: string, start: number, end: number | undefined): void {
  const ok = Number.isInteger(start) && start >= 0 && (end === undefined || (Number.isInteger(end) && end >= start));
  if (!ok) throw new ModelFetchError(`Invalid byte range [${start}, ${end}) requested from ${path}`, { path, start, end });
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (c) => c.close() });
}

/** In-memory files, delivered in `chunkSize`-byte pieces (default 64 KiB) to mimic a network body. */
export function memorySource(files: Record<string, Uint8Array>, opts: { chunkSize?: number } = {}): ModelSource {
  const chunkSize = opts.chunkSize ?? 65536;
  const get = (path: string): Uint8Array => {
    const bytes = files[path];
    if (!bytes) throw new ModelFetchError(`File "${path}" not found in memory source (has: ${Object.keys(files).join(', ')})`, { path });
    return bytes;
  };
  return {
    description: `memory (${Object.keys(files).length} files)`,
    list: () => Object.keys(files),
    readText: async (path) => new TextDecoder().decode(get(path)),
    exists: async (path) => path in files,
    size: async (path) => get(path).length,
    async stream(path, start = 0, end) {
      checkRange(path, start, end);
      const bytes = get(path);
      let pos = Math.min(start, bytes.length);
      const stop = Math.min(end ?? bytes.length, bytes.length);
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (pos >= stop) {
            c.close();
            return;
          }
          const n = Math.min(chunkSize, stop - pos);
          c.enqueue(bytes.slice(pos, pos + n));
          pos += n;
        },
      });
    },
  };
}

/** Drop the first `skip` bytes of a stream and stop after `limit` bytes (null: no limit). */
function sliceStream(body: ReadableStream<Uint8Array>, skip: number, limit: number | null): ReadableStream<Uint8Array> {
  let toSkip = skip;
  let left = limit ?? Infinity;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      for (;;) {
        if (left <= 0) {
          await reader.cancel();
          c.close();
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          c.close();
          return;
        }
        let chunk = value;
        if (toSkip > 0) {
          const n = Math.min(toSkip, chunk.length);
          toSkip -= n;
          chunk = chunk.subarray(n);
        }
        if (chunk.length === 0) continue;
        if (chunk.length > left) chunk = chunk.subarray(0, left);
        left -= chunk.length;
        c.enqueue(chunk);
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Base URL → URL of files: `https://huggingface.co/org/name` gains `/resolve/main`. */
function resolveBase(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  const m = /^https?:\/\/(huggingface\.co|hf\.co)\/([^/]+)\/([^/]+)$/.exec(trimmed);
  return m ? `${trimmed}/resolve/main` : trimmed;
}

function contentRangeTotal(res: Response): number | null {
  const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * Files under `baseUrl` over HTTP. Byte ranges use `Range` requests; a server that ignores Range
 * (200 instead of 206) still works: the leading bytes are read and skipped. A web page answered for
 * a file that is not HTML (a single-page-app fallback standing in for a 404) makes the file missing
 * for exists(), and a ModelFetchError that says so for every read.
 */
export function urlSource(baseUrl: string, opts: { fetch?: typeof fetch } = {}): ModelSource {
  // A URL of a .gguf file (e.g. …/resolve/main/model-Q4_K_M.gguf): its folder, and the file as entry.
  const gguf = /^(.*)\/([^/?#]+\.gguf)(?:[?#].*)?$/i.exec(baseUrl);
  const base = gguf ? gguf[1] : resolveBase(baseUrl);
  const entry = gguf ? decodeURIComponent(gguf[2]) : undefined;
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const urlOf = (path: string) => `${base}/${path.split('/').map(encodeURIComponent).join('/')}`;
  const request = async (path: string, init?: RequestInit): Promise<Response> => {
    const url = urlOf(path);
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (err) {
      throw new ModelFetchError(`Fetching ${url} failed: ${(err as Error).message ?? err}`, { url, path });
    }
    if (res.ok && isWebPageResponse(res, path)) {
      await res.body?.cancel().catch(() => {});
      throw webPageError(url, path, res.status);
    }
    return res;
  };
  const httpError = (path: string, res: Response) =>
    new ModelFetchError(`Fetching ${urlOf(path)} failed: HTTP ${res.status} ${res.statusText}`.trim(), {
      url: urlOf(path),
      path,
      status: res.status,
    });
  const fail = (path: string, res: Response): never => {
    throw httpError(path, res);
  };
  /** The answer to HEAD (or a one-byte GET where HEAD is refused), or why the file is missing (404 or a web page). */
  const probe = async (path: string): Promise<Response | ModelFetchError> => {
    const ask = async (init: RequestInit): Promise<Response | ModelFetchError> => {
      try {
        return await request(path, init);
      } catch (err) {
        if (err instanceof ModelFetchError && err.details?.webPage) return err;
        throw err;
      }
    };
    const head = await ask({ method: 'HEAD' });
    if (head instanceof ModelFetchError || head.ok) return head;
    if (head.status === 404 || head.status === 410) return httpError(path, head);
    const get = await ask({ headers: { Range: 'bytes=0-0' } });
    if (get instanceof ModelFetchError) return get;
    await get.body?.cancel();
    if (get.ok) return get;
    if (get.status === 404 || get.status === 410) return httpError(path, get);
    return fail(path, get);
  };
  return {
    description: `url ${base}`,
    entry,
    async readText(path) {
      const res = await request(path);
      if (!res.ok) fail(path, res);
      const text = await res.text();
      if (!isHtmlPath(path) && looksLikeWebPage(text)) throw webPageError(urlOf(path), path, res.status);
      return text;
    },
    exists: async (path) => !((await probe(path)) instanceof ModelFetchError),
    async size(path) {
      const res = await probe(path);
      if (res instanceof ModelFetchError) throw res;
      if (res.status === 206) return contentRangeTotal(res);
      const len = res.headers.get('content-length');
      return len !== null && /^\d+$/.test(len) ? Number(len) : null;
    },
    async stream(path, start = 0, end) {
      checkRange(path, start, end);
      if (end === start) return emptyStream();
      const ranged = start > 0 || end !== undefined;
      const res = await request(path, ranged ? { headers: { Range: `bytes=${start}-${end === undefined ? '' : end - 1}` } } : {});
      if (res.status === 416) return emptyStream(); // range starts past the end: nothing to read
      if (!res.ok) fail(path, res);
      const body = res.body ?? emptyStream();
      const limit = end === undefined ? null : end - start;
      if (res.status === 206) return sliceStream(body, 0, limit);
      return ranged ? sliceStream(body, start, limit) : body;
    },
  };
}

/** Find `path` among picked files: exact relative path, relative-path suffix, or bare name; shallowest wins. */
const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;

function findFile(files: readonly File[], path: string): File | undefined {
  const matches = files.filter((f) => {
    const r = rel(f);
    return r === path || r.endsWith(`/${path}`) || (!path.includes('/') && f.name === path);
  });
  matches.sort((a, b) => rel(a).split('/').length - rel(b).split('/').length);
  return matches[0];
}

/** Files the user picked (`<input type=file multiple>`) or a dropped/picked folder (webkitdirectory). */
export function fileSource(files: File[] | FileList): ModelSource {
  const list = Array.from(files);
  const get = (path: string): File => {
    const f = findFile(list, path);
    if (!f) {
      const names = list.slice(0, 20).map(rel).join(', ') + (list.length > 20 ? ', …' : '');
      throw new ModelFetchError(`File "${path}" is not among the ${list.length} picked files (${names})`, { path });
    }
    return f;
  };
  return {
    description: `local files (${list.length})`,
    list: () => list.map(rel),
    readText: async (path) => get(path).text(),
    exists: async (path) => findFile(list, path) !== undefined,
    size: async (path) => get(path).size,
    async stream(path, start = 0, end) {
      checkRange(path, start, end);
      const f = get(path);
      return f.slice(start, end ?? f.size).stream() as ReadableStream<Uint8Array>;
    },
  };
}

/**
 * A JSON file of a model folder, parsed. Required: a web page → ModelFetchError that says so, bad
 * JSON → ModelConfigError. Optional (null when absent): a file that is missing, or answered with a
 * body that is plainly not a JSON object (a web page, an empty or plain-text body), is absent; one
 * that starts as a JSON object but does not parse is still a ModelConfigError.
 */
export async function readJsonFile(source: ModelSource, path: string, opts: { optional: true }): Promise<unknown | null>;
export async function readJsonFile(source: ModelSource, path: string, opts?: { optional?: false }): Promise<unknown>;
export async function readJsonFile(source: ModelSource, path: string, opts: { optional?: boolean } = {}): Promise<unknown | null> {
  let text: string;
  try {
    if (opts.optional && !(await source.exists(path))) return null;
    text = await source.readText(path);
  } catch (err) {
    if (opts.optional && err instanceof ModelFetchError && err.details?.webPage) return null;
    throw err;
  }
  const body = text.replace(/^\ufeff/, '');
  if (opts.optional && !/^\s*\{/.test(body)) return null;
  if (looksLikeWebPage(body)) throw webPageError(source.description, path);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new ModelConfigError(`${path} from ${source.description} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}
