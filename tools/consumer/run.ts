/**
 * `npm run test:consumer`: checks what ships. Builds the library, packs it with `npm pack`, installs
 * the tarball into a fresh temporary Vite app (tools/consumer/app, no Vite config at all), builds that
 * app with `vite build`, serves it on 127.0.0.1 and opens it in Debian's Chromium. The page loads the
 * llama fixture from the app's public/ folder and generates greedily; its prompt ids and tokens must
 * equal the repo's tokenizer and the float64 CPU reference (test/reference/llama.ts) run here in Node.
 * Needs no network beyond the npm registry (dependencies come from the npm cache when present).
 * KEEP_CONSUMER=1 keeps the temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { argmax, loadReferenceModel, referenceLogits } from '../../test/reference/llama';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { chromiumArgs, chromiumPath } from '../../vite.config';
import { serveStatic } from './serve';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(repo, 'test/fixtures/models/llama');
const promptText = 'The cat sat on the mat';
const maxTokens = 8;
const started = Date.now();

function step(name: string): void {
  console.log(`consumer: [${((Date.now() - started) / 1000).toFixed(1)}s] ${name}`);
}

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Packs the built library into `dir`; returns the tarball path. */
function packLibrary(dir: string): string {
  step('npm run build');
  sh('npm', ['run', 'build'], repo);
  step('npm pack'); // built just above: --ignore-scripts skips prepack's second build (its output would break --json)
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], repo)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const stray = info.files.map((f) => f.path).filter((p) => !p.startsWith('dist/') && p !== 'package.json' && p !== 'README.md');
  if (stray.length) throw new Error(`the tarball ships files outside dist/: ${stray.join(', ')}`);
  return join(dir, info.filename);
}

/** A fresh Vite app in `dir` with the tarball installed and the llama fixture in public/. */
function createApp(dir: string, tarball: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'memory3-consumer', private: true, type: 'module' }, null, 2));
  cpSync(join(here, 'app/index.html'), join(dir, 'index.html'));
  cpSync(join(here, 'app/tsconfig.json'), join(dir, 'tsconfig.json'));
  cpSync(join(here, 'app/main.mts'), join(dir, 'src/main.ts'));
  cpSync(fixture, join(dir, 'public/models/llama'), { recursive: true, filter: (f) => !f.endsWith('.gguf') && !f.endsWith('.stamp') });
  step('npm install <tarball>');
  sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], dir);
  step('tsc --noEmit against the shipped types');
  sh(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
  step('vite build (the app has no vite config)');
  sh(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], dir);
}

/** The built app must hold the engine worker as its own module file. */
function checkBuiltWorker(dir: string): string {
  const assets = join(dir, 'dist/assets');
  const scripts = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const workers = scripts.filter((f) => /^worker-[\w-]+\.js$/.test(f));
  if (workers.length !== 1) throw new Error(`expected one bundled engine worker in dist/assets, found ${JSON.stringify(scripts)}`);
  const entry = scripts.find((f) => readFileSync(join(assets, f), 'utf8').includes(workers[0]));
  if (!entry) throw new Error(`no script in dist/assets references the worker ${workers[0]}`);
  return `${workers[0]} (started from ${entry})`;
}

interface PageResult {
  prompt: number[];
  tokens: number[];
  text: string;
  streamed: string;
  finishReason: string;
}

async function runInChromium(root: string): Promise<PageResult> {
  const server = await serveStatic(root);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // The engine probes optional model files (generation_config.json, a shard index): 404 is fine there.
    const optional = (url: string) => new URL(url).pathname.startsWith('/models/');
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !optional(r.url())) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    await page.goto(`${server.url}/?prompt=${encodeURIComponent(promptText)}&n=${maxTokens}`);
    const status = await page
      .waitForSelector('#result[data-status]', { timeout: 120_000 })
      .then((el) => el.getAttribute('data-status'))
      .catch(() => null);
    const text = await page.textContent('#result');
    if (status !== 'done') throw new Error(`the page did not finish (status ${status}): ${text}\n${problems.join('\n')}`);
    if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
    return JSON.parse(text ?? '') as PageResult;
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The repo's own answer: its tokenizer for the prompt ids, the float64 reference for greedy tokens. */
function expected(): { prompt: number[]; tokens: number[] } {
  const json = (f: string) => JSON.parse(readFileSync(join(fixture, f), 'utf8')) as unknown;
  const tokenizer = Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));
  const prompt = tokenizer.encode(promptText, { addSpecialTokens: true });
  const model = loadReferenceModel(fixture);
  const seq = [...prompt],
    tokens: number[] = [];
  for (let i = 0; i < maxTokens; i++) {
    const rows = referenceLogits(model, seq);
    const t = argmax(rows[rows.length - 1]);
    tokens.push(t);
    seq.push(t);
  }
  return { prompt, tokens };
}

function sameIds(what: string, got: number[], want: number[]): void {
  if (got.length !== want.length || got.some((t, i) => t !== want[i])) {
    throw new Error(`${what}: the packed library gave [${got}], the repo's reference gives [${want}]`);
  }
}

async function main(): Promise<void> {
  step('fixtures');
  sh('npm', ['run', 'fixtures', '--', '--if-missing'], repo);
  if (!existsSync(join(fixture, 'model.safetensors'))) throw new Error(`fixture missing: ${fixture}`);
  const tmp = mkdtempSync(join(tmpdir(), 'memory3-consumer-'));
  try {
    const tarball = packLibrary(tmp);
    const app = join(tmp, 'app');
    createApp(app, tarball);
    step(`built app worker: ${checkBuiltWorker(app)}`);
    step('chromium');
    const page = await runInChromium(join(app, 'dist'));
    const want = expected();
    sameIds('prompt ids', page.prompt, want.prompt);
    sameIds('greedy tokens', page.tokens, want.tokens);
    if (page.streamed !== page.text)
      throw new Error(`streamed text ${JSON.stringify(page.streamed)} ≠ result text ${JSON.stringify(page.text)}`);
    step(`generated ${JSON.stringify(page.text)} (${page.finishReason})`);
    console.log(`consumer: ok (${page.tokens.length} tokens, ${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } finally {
    if (process.env.KEEP_CONSUMER) console.log(`consumer: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`consumer: FAILED\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
