/**
 * Model folders behind single-page-app fallbacks: a real Vite dev server answers a missing file
 * with its index.html and status 200. Optional files answered so (or with a body that is plainly
 * not the file) are missing; a required one is a ModelFetchError that says a web page came back.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { loadDescriptors } from '../../src/engine/descriptors';
import { BankRetriever } from '../../src/memory/bank-retriever';
import { listWeightFiles, readSafetensorsHeader } from '../../src/model/safetensors';
import { memorySource, urlSource } from '../../src/model/source';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { ModelConfigError, ModelFetchError } from '../../src/util/errors';

const fixture = resolve(__dirname, '../fixtures/models/llama');
const sharded = resolve(__dirname, '../fixtures/models/llama-sharded');
const page = '<!DOCTYPE html>\n<html lang="en"><head><title>app</title></head><body><div id="app"></div></body></html>\n';

async function rejection(p: Promise<unknown>): Promise<ModelFetchError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelFetchError);
  return err as ModelFetchError;
}

describe('a Vite dev server with its SPA fallback', () => {
  let dir: string;
  let server: ViteDevServer;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'memory3-spa-'));
    writeFileSync(join(dir, 'index.html'), page);
    const models = join(dir, 'public/models');
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) cpSync(join(fixture, f), join(models, 'plain', f));
    cpSync(sharded, join(models, 'sharded'), { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) cpSync(join(fixture, f), join(models, 'no-tokenizer', f));
    for (const f of ['tokenizer.json', 'model.safetensors']) cpSync(join(fixture, f), join(models, 'no-config', f));
    for (const f of ['config.json', 'tokenizer.json']) cpSync(join(fixture, f), join(models, 'no-weights', f));
    mkdirSync(join(models, 'empty'), { recursive: true });
    server = await createServer({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0 },
      optimizeDeps: { noDiscovery: true },
    });
    await server.listen();
    base = `${server.resolvedUrls!.local[0]}models/`;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a missing file with index.html and 200 (what the loader has to cope with)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${base}plain/model.safetensors.index.json`, { method });
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/html']);
      if (method === 'GET') expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('loads a folder that lacks every optional file (tokenizer_config, generation_config, the shard index)', async () => {
    const src = urlSource(`${base}plain/`);
    for (const f of ['tokenizer_config.json', 'generation_config.json', 'model.safetensors.index.json'])
      expect(await src.exists(f)).toBe(false);
    const { config, tokenizer } = await loadDescriptors(src);
    expect(config.numLayers).toBeGreaterThan(0);
    expect(tokenizer.encode('hello', { addSpecialTokens: false }).length).toBeGreaterThan(0);
    const files = await listWeightFiles(src);
    expect(files).toEqual(['model.safetensors']);
    expect((await readSafetensorsHeader(src, files[0])).tensors.length).toBeGreaterThan(0);
  });

  it('still reads a sharded folder behind the same server', async () => {
    const src = urlSource(`${base}sharded/`);
    expect(await listWeightFiles(src)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect((await loadDescriptors(src)).tokenizer.chatTemplate).toBeDefined();
  });

  it('names a required file answered with a web page', async () => {
    const noTokenizer = await rejection(loadDescriptors(urlSource(`${base}no-tokenizer/`)));
    expect(noTokenizer.message).toMatch(
      /no-tokenizer\/tokenizer\.json: the server returned a web page \(HTML, HTTP 200\) instead of tokenizer\.json/,
    );
    expect(noTokenizer.details).toMatchObject({ path: 'tokenizer.json', webPage: true, status: 200 });
    const noConfig = await rejection(loadDescriptors(urlSource(`${base}no-config/`)));
    expect(noConfig.message).toMatch(/returned a web page .* instead of config\.json/);
    const empty = await rejection(loadDescriptors(urlSource(`${base}empty/`)));
    expect(empty.message).toMatch(/web page .* instead of config\.json/);
    const src = urlSource(`${base}no-weights/`);
    const files = await listWeightFiles(src);
    const noWeights = await rejection(readSafetensorsHeader(src, files[0]));
    expect(noWeights.message).toMatch(/web page .* instead of model\.safetensors/);
    await expect(src.stream('model.safetensors', 0, 8)).rejects.toThrow(/web page/);
    await expect(src.readText('model.safetensors')).rejects.toThrow(/web page/);
  });

  it('names a missing embedding model folder answered with a web page', async () => {
    const err = await rejection(
      BankRetriever.initialState({ kind: 'embedding', model: `${base}no-embedder/` }, (j) => Tokenizer.fromJSON(j, null)),
    );
    expect(err.message).toMatch(/no-embedder\/tokenizer\.json: the server returned a web page/);
  });
});

describe('bodies that are plainly not the file, without a telling content-type', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const real = Object.fromEntries(
    ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(fixture, f)))]),
  );

  /** A server that answers every unknown path with `fallback`, status 200, no content-type. */
  function server(files: Record<string, Uint8Array>, fallback: Uint8Array): typeof fetch {
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      const name = String(input).replace('https://cdn.test/m/', '');
      const body = files[name] ?? fallback;
      const headers = { 'content-length': String(body.length) };
      return new Response(init?.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
    }) as typeof fetch;
  }

  for (const [what, body] of [
    ['an HTML page', page],
    ['an empty body', ''],
    ['a plain-text error', 'Not Found'],
    ['a BOM and an HTML comment', '\ufeff<!-- spa -->'],
  ] as const) {
    it(`treats every optional file answered with ${what} as missing`, async () => {
      const src = urlSource('https://cdn.test/m/', { fetch: server(real, enc(body)) });
      const { tokenizer } = await loadDescriptors(src);
      expect(tokenizer.encode('a b', { addSpecialTokens: false }).length).toBeGreaterThan(0);
      expect(await listWeightFiles(src)).toEqual(['model.safetensors']);
    });
  }

  it('refuses required files answered with a page, and keeps a broken optional file an error', async () => {
    const { 'tokenizer.json': _t, ...noTokenizer } = real;
    await expect(loadDescriptors(urlSource('https://cdn.test/m/', { fetch: server(noTokenizer, enc(page)) }))).rejects.toThrow(
      /web page .* instead of tokenizer\.json/,
    );
    const { 'model.safetensors': _w, ...noWeights } = real;
    const src = urlSource('https://cdn.test/m/', { fetch: server(noWeights, enc(page)) });
    const err = await rejection(readSafetensorsHeader(src, 'model.safetensors'));
    expect(err.message).toMatch(/model\.safetensors: the server returned a web page/);
    // A file that begins as JSON but breaks is the file, corrupted: still a ModelConfigError.
    const broken = memorySource({ ...real, 'tokenizer_config.json': enc('{"chat_template": ') });
    await expect(loadDescriptors(broken)).rejects.toThrow(ModelConfigError);
    // A picked folder without config.json keeps its own explanation.
    await expect(loadDescriptors(memorySource({ 'tokenizer.json': real['tokenizer.json'] }))).rejects.toThrow(
      /config\.json not found in memory .*a model folder needs config\.json/,
    );
  });
});
