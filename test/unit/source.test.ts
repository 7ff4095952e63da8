import { describe, expect, it } from 'vitest';
import { fileSource, memorySource, urlSource, type ModelSource } from '../../src/model/source';
import { ModelFetchError } from '../../src/util/errors';

const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);

async function collect(s: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const c of s as unknown as AsyncIterable<Uint8Array>) out.push(...c);
  return out;
}

interface FakeServer {
  fetch: typeof fetch;
  requests: { url: string; method: string; range: string | null }[];
}

/** A static file server: optionally ignores Range (answers 200 with the whole body) or refuses HEAD. */
function fakeServer(files: Record<string, Uint8Array>, o: { honorRange: boolean; allowHead: boolean; chunk: number }): FakeServer {
  const requests: FakeServer['requests'] = [];
  const body = (b: Uint8Array) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < b.length; i += o.chunk) c.enqueue(b.slice(i, i + o.chunk));
        c.close();
      },
    });
  const handler = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const range = new Headers(init?.headers).get('range');
    requests.push({ url, method, range });
    const prefix = 'https://example.test/models/tiny/';
    const file = url.startsWith(prefix) ? files[decodeURIComponent(url.slice(prefix.length))] : undefined;
    if (!file) return new Response('nope', { status: 404, statusText: 'Not Found' });
    if (method === 'HEAD') {
      if (!o.allowHead) return new Response(null, { status: 405 });
      return new Response(null, { status: 200, headers: { 'content-length': String(file.length) } });
    }
    const m = range && o.honorRange ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (!m) return new Response(body(file), { status: 200, headers: { 'content-length': String(file.length) } });
    const start = Number(m[1]);
    if (start >= file.length) return new Response(null, { status: 416 });
    const last = m[2] === '' ? file.length - 1 : Math.min(Number(m[2]), file.length - 1);
    return new Response(body(file.slice(start, last + 1)), {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${last}/${file.length}` },
    });
  };
  return { fetch: handler as typeof fetch, requests };
}

async function checkRanges(src: ModelSource, path: string): Promise<void> {
  expect(await collect(await src.stream(path))).toEqual(Array.from(bytes));
  expect(await collect(await src.stream(path, 5, 17))).toEqual(Array.from(bytes.subarray(5, 17)));
  expect(await collect(await src.stream(path, 123))).toEqual(Array.from(bytes.subarray(123)));
  expect(await collect(await src.stream(path, 0, 1))).toEqual([bytes[0]]);
  expect(await collect(await src.stream(path, 9, 9))).toEqual([]);
  expect(await collect(await src.stream(path, 290, 400))).toEqual(Array.from(bytes.subarray(290))); // clamped
}

describe('memorySource', () => {
  it('serves byte ranges in small chunks, text, sizes and existence', async () => {
    const src = memorySource({ 'w.bin': bytes, 'config.json': new TextEncoder().encode('{"a":1}') }, { chunkSize: 7 });
    await checkRanges(src, 'w.bin');
    expect(await src.readText('config.json')).toBe('{"a":1}');
    expect(await src.size('w.bin')).toBe(300);
    expect([await src.exists('w.bin'), await src.exists('nope')]).toEqual([true, false]);
    await expect(src.readText('tokenizer.json')).rejects.toThrow(ModelFetchError);
    await expect(src.stream('w.bin', 10, 5)).rejects.toThrow(ModelFetchError);
  });
});

describe('urlSource', () => {
  const files = { 'model.safetensors': bytes, 'config.json': new TextEncoder().encode('{"x":2}'), 'sub dir/a.json': bytes };

  it('uses Range requests when the server honours them', async () => {
    const server = fakeServer(files, { honorRange: true, allowHead: true, chunk: 11 });
    const src = urlSource('https://example.test/models/tiny/', { fetch: server.fetch });
    await checkRanges(src, 'model.safetensors');
    expect(server.requests.some((r) => r.range === 'bytes=5-16')).toBe(true);
    expect(server.requests.some((r) => r.range === 'bytes=123-')).toBe(true);
    expect(await src.readText('config.json')).toBe('{"x":2}');
    expect(await src.size('model.safetensors')).toBe(300);
    expect(await src.exists('sub dir/a.json')).toBe(true);
    expect(server.requests.at(-1)!.url).toBe('https://example.test/models/tiny/sub%20dir/a.json');
  });

  it('skips leading bytes when the server ignores Range, and probes size without HEAD', async () => {
    const server = fakeServer(files, { honorRange: false, allowHead: false, chunk: 13 });
    const src = urlSource('https://example.test/models/tiny', { fetch: server.fetch });
    await checkRanges(src, 'model.safetensors');
    expect(await src.size('model.safetensors')).toBe(300); // GET fallback, content-length of the 200
    expect(await src.exists('model.safetensors')).toBe(true);
    expect(await src.exists('missing.json')).toBe(false);
    const ranged = fakeServer(files, { honorRange: true, allowHead: false, chunk: 13 });
    expect(await urlSource('https://example.test/models/tiny', { fetch: ranged.fetch }).size('model.safetensors')).toBe(300);
  });

  it('throws ModelFetchError with URL and status', async () => {
    const server = fakeServer(files, { honorRange: true, allowHead: true, chunk: 64 });
    const src = urlSource('https://example.test/models/tiny', { fetch: server.fetch });
    const err = await src.readText('tokenizer.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as Error).message).toContain('https://example.test/models/tiny/tokenizer.json');
    expect((err as Error).message).toContain('404');
    expect((err as ModelFetchError).details).toMatchObject({ status: 404 });
    await expect(src.stream('nope.safetensors', 0, 8)).rejects.toThrow(/nope\.safetensors.*404/);
    await expect(src.size('nope.safetensors')).rejects.toThrow(ModelFetchError);
    const offline = urlSource('https://example.test/m', {
      fetch: (async () => {
        throw new TypeError('network down');
      }) as typeof fetch,
    });
    await expect(offline.readText('config.json')).rejects.toThrow(/config\.json.*network down/);
  });

  it('maps a bare Hugging Face repo URL to resolve/main', async () => {
    const seen: string[] = [];
    const f = (async (u: RequestInfo | URL) => {
      seen.push(String(u));
      return new Response('{}');
    }) as typeof fetch;
    await urlSource('https://huggingface.co/org/tiny-model', { fetch: f }).readText('config.json');
    await urlSource('https://huggingface.co/org/tiny-model/resolve/abc123/', { fetch: f }).readText('config.json');
    expect(seen).toEqual([
      'https://huggingface.co/org/tiny-model/resolve/main/config.json',
      'https://huggingface.co/org/tiny-model/resolve/abc123/config.json',
    ]);
  });
});

describe('fileSource', () => {
  function picked(name: string, data: Uint8Array, relativePath = ''): File {
    const f = new File([data as Uint8Array<ArrayBuffer>], name);
    Object.defineProperty(f, 'webkitRelativePath', { value: relativePath });
    return f;
  }

  it('finds files by name or folder-relative path and serves ranges', async () => {
    const src = fileSource([
      picked('config.json', new TextEncoder().encode('{"deep":true}'), 'tiny/old/config.json'),
      picked('config.json', new TextEncoder().encode('{"deep":false}'), 'tiny/config.json'),
      picked('model.safetensors', bytes, 'tiny/model.safetensors'),
      picked('tokenizer.json', new TextEncoder().encode('{}')),
    ]);
    expect(await src.readText('config.json')).toBe('{"deep":false}'); // shallowest match wins
    expect(await src.readText('old/config.json')).toBe('{"deep":true}');
    expect(await src.readText('tokenizer.json')).toBe('{}');
    expect(await src.size('model.safetensors')).toBe(300);
    await checkRanges(src, 'model.safetensors');
    expect(await src.exists('model.safetensors.index.json')).toBe(false);
    await expect(src.readText('generation_config.json')).rejects.toThrow(/generation_config\.json.*4 picked files/);
  });
});
