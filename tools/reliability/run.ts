/**
 * Faults injected for real: Debian's Chromium on a profile of its own (real IndexedDB on disk) is
 * killed with SIGKILL, the whole process group, while the page imports a bank, overwrites one with an
 * import, and encodes documents with the engine, at several points; restarted on the same profile,
 * every bank must pass the full consistency check and hold the old contents or the new (encoding must
 * resume to what a clean run stores). Then a real quota (CDP Storage.overrideQuotaForOrigin) is
 * exceeded during an import, an overwriting import and encoding: StorageQuotaError, nothing lost.
 * Prints `reliability: N faults injected, M fuzz cases, L lost` (fuzz tallies from test/fuzz/.results).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumArgs, chromiumPath } from '../../vite.config';
import { repoRoot } from '../e2e/harness';
import type { BankDigest, ReliabilityPage } from './page';

const started = Date.now();
const log = (m: string) => console.log(`reliability: [${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let faults = 0;
const lost: string[] = [];

interface Session {
  child: ChildProcess;
  browser: Browser;
  page: Page;
}

async function startServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: join(repoRoot, 'vite.config.ts'),
    root: repoRoot,
    logLevel: 'warn',
    clearScreen: false,
    optimizeDeps: { include: ['minisearch', 'onnxruntime-web', 'onnxruntime-web/wasm'] },
    server: {
      host: '127.0.0.1',
      port: 5473,
      strictPort: false,
      hmr: false,
      watch: null,
      warmup: { clientFiles: ['./tools/reliability/page.ts', './src/worker/worker.ts'] },
    },
  });
  await server.listen();
  await server.waitForRequestsIdle();
  return { server, url: server.resolvedUrls!.local[0].replace(/\/$/, '') };
}

/** Starts Chromium ourselves (so the kill is ours: SIGKILL to its process group) and drives it over CDP. */
async function launch(profile: string, url: string): Promise<Session> {
  rmSync(join(profile, 'DevToolsActivePort'), { force: true });
  const child = spawn(chromiumPath, [...chromiumArgs, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
    detached: true,
    stdio: 'ignore',
  });
  const portFile = join(profile, 'DevToolsActivePort');
  for (let i = 0; !existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2; i++) {
    if (i > 600 || child.exitCode !== null) throw new Error(`chromium did not start (exit ${child.exitCode})`);
    await sleep(50);
  }
  const port = readFileSync(portFile, 'utf8').split('\n')[0].trim();
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  const page = await browser.contexts()[0].newPage();
  page.on('pageerror', (e) => log(`page exception: ${e.message}`));
  await page.goto(`${url}/tools/reliability/page.html`);
  await page.waitForFunction(() => 'reliability' in window, null, { timeout: 120_000 });
  return { child, browser, page };
}

async function kill(s: Session): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  process.kill(-s.child.pid!, 'SIGKILL');
  await exited;
  await s.browser.close().catch(() => {});
  faults++;
}

async function close(s: Session): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  await s.browser.close().catch(() => {});
  try {
    process.kill(-s.child.pid!, 'SIGTERM');
  } catch {
    /* gone */
  }
  await exited;
}

/** Calls `window.reliability[name](...args)` in the page. */
function call<T = void>(page: Page, name: keyof ReliabilityPage, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([n, a]) => (window as unknown as { reliability: Record<string, (...x: unknown[]) => unknown> }).reliability[n](...a),
    [name, args] as [string, unknown[]],
  ) as Promise<T>;
}

/** Waits until the page's background write reaches `at` (or ends), then `jitter` ms more. */
async function waitFor(page: Page, at: number, jitter: number): Promise<string> {
  for (;;) {
    const st = await page.evaluate(() => (window as unknown as { reliability: ReliabilityPage }).reliability.state);
    if (st.error) return `failed first: ${st.error}`;
    if (st.done) return 'finished first';
    if (st.progress >= at) {
      await sleep(jitter);
      return `progress ${st.progress}`;
    }
    await sleep(3);
  }
}

/**
 * Records a verdict: the full consistency check (in the page's digest) must pass, the bank must be
 * searchable, and its contents must be one of `allowed` ('consistent': any contents).
 */
async function verify(
  what: string,
  name: string,
  page: Page,
  allowed: Record<string, string> | 'consistent',
  field: 'digest' | 'texts' = 'digest',
): Promise<BankDigest | null> {
  try {
    const d = await call<BankDigest>(page, 'digest', name);
    const verdict =
      allowed === 'consistent'
        ? d.digest === 'absent'
          ? undefined
          : 'consistent'
        : Object.entries(allowed).find(([, digest]) => digest === d[field])?.[0];
    if (!verdict) {
      lost.push(
        `${what}: contents ${d[field].slice(0, 12)} are not ${allowed === 'consistent' ? 'a bank' : Object.keys(allowed).join(' nor ')}`,
      );
      log(`✗ ${what}`);
    } else if (d.indexed === false) {
      lost.push(`${what}: stored references missing from the index`);
      log(`✗ ${what}: not searchable`);
    } else log(`✓ ${what}: ${verdict}`);
    return d;
  } catch (err) {
    lost.push(`${what}: ${(err as Error).message}`);
    log(`✗ ${what}: ${(err as Error).message}`);
    return null;
  }
}

async function killScenarios(profile: string, url: string): Promise<void> {
  let s = await launch(profile, url);
  await call(s.page, 'makeBank', 'src', 8, 'model-new');
  await call(s.page, 'makeBank', 'old-template', 1, 'model-old');
  const fresh = (await call<BankDigest>(s.page, 'digest', 'src')).digest;
  const old = (await call<BankDigest>(s.page, 'digest', 'old-template')).digest;
  const absent = 'absent';
  const points: [number, number][] = [
    [256, 0],
    [1024, 7],
    [1792, 20],
    [2048, 0],
    [2048, 15],
  ];
  for (const [i, [at, jitter]] of points.entries()) {
    await call(s.page, 'startImport', 'src', `kill-import-${i}`, false);
    const where = await waitFor(s.page, at, jitter);
    await kill(s);
    s = await launch(profile, url);
    await verify(`import killed at ${where} (+${jitter} ms)`, `kill-import-${i}`, s.page, { 'no bank': absent, 'the new bank': fresh });
  }
  for (const [i, [at, jitter]] of points.entries()) {
    await call(s.page, 'makeBank', `kill-overwrite-${i}`, 1, 'model-old');
    await call(s.page, 'startImport', 'src', `kill-overwrite-${i}`, true);
    const where = await waitFor(s.page, at, jitter);
    await kill(s);
    s = await launch(profile, url);
    await verify(`overwriting import killed at ${where} (+${jitter} ms)`, `kill-overwrite-${i}`, s.page, {
      'the old bank': old,
      'the new bank': fresh,
    });
  }
  await call(s.page, 'createEncodingBank', 'encode-control');
  await call(s.page, 'encode', 'encode-control', 20);
  const control = (await call<BankDigest>(s.page, 'digest', 'encode-control')).texts;
  for (const [i, at] of [8, 24, 48].entries()) {
    const name = `kill-encode-${i}`;
    await call(s.page, 'createEncodingBank', name);
    await call(s.page, 'startEncoding', name, 20);
    const where = await waitFor(s.page, at, 0);
    await kill(s);
    s = await launch(profile, url);
    const d = await verify(`encoding killed at ${where}`, name, s.page, 'consistent');
    const r = await call<{ resumed: number }>(s.page, 'encode', name, 20);
    if (r.resumed !== d?.references) lost.push(`encoding killed at ${where}: resumed ${r.resumed}, ${d?.references} were stored`);
    await verify(`encoding resumed after the kill at ${where}`, name, s.page, { 'what a clean run stores': control }, 'texts');
  }
  // Nothing else lost: every bank from before still holds what it held.
  for (const name of await call<string[]>(s.page, 'banks')) await verify(`${name}, after all the kills`, name, s.page, 'consistent');
  await close(s);
}

/**
 * Chromium's IndexedDB takes the origin's quota when it first opens a database there, so a quota
 * set later (Storage.overrideQuotaForOrigin) does not apply: each quota run is a fresh profile whose
 * quota is set before anything is stored, sized by a calibration run of the same steps without a quota.
 */
async function withQuota(url: string, quota: number | null, run: (s: Session) => Promise<void>, keep?: string): Promise<string> {
  const profile = keep ?? mkdtempSync(join(tmpdir(), 'memory3-quota-'));
  const s = await launch(profile, url);
  try {
    if (quota !== null) {
      const cdp: CDPSession = await s.browser.contexts()[0].newCDPSession(s.page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: quota });
    }
    await run(s);
  } finally {
    await close(s);
  }
  return profile;
}

/** Runs a background write to its end; resolves to its error ('' when it succeeded). */
async function toEnd(page: Page, start: () => Promise<unknown>): Promise<string> {
  await start();
  for (;;) {
    const st = await page.evaluate(() => (window as unknown as { reliability: ReliabilityPage }).reliability.state);
    if (st.done) return st.error ?? '';
    await sleep(20);
  }
}

async function expectQuota(what: string, error: Promise<string>): Promise<void> {
  faults++;
  const err = await error;
  if (!err.startsWith('StorageQuotaError')) {
    lost.push(`${what}: expected StorageQuotaError, got ${err || 'success'}`);
    log(`✗ ${what}: ${err || 'success'}`);
  } else log(`✓ ${what}: ${err.slice(0, 100)}…`);
}

async function quotaScenarios(url: string, profiles: string[]): Promise<void> {
  const usage = (s: Session) => call<number>(s.page, 'usage');
  // Import and overwriting import: a 2,048-reference file (about 1.3 MB stored) into an origin
  // allowed 700 kB, which holds a 256-reference bank (about 0.2 MB).
  let file = '',
    fresh = '';
  profiles.push(
    await withQuota(url, null, async (s) => {
      await call(s.page, 'makeBank', 'quota-src', 8, 'model-new');
      file = await call<string>(s.page, 'exportFile', 'quota-src');
      fresh = (await call<BankDigest>(s.page, 'digest', 'quota-src')).digest;
    }),
  );
  profiles.push(
    await withQuota(url, 700_000, async (s) => {
      await call(s.page, 'makeBank', 'quota-old', 1, 'model-old');
      const old = (await call<BankDigest>(s.page, 'digest', 'quota-old')).digest;
      await expectQuota(
        'import past the quota',
        toEnd(s.page, () => call(s.page, 'startImportFile', file, 'quota-new', false)),
      );
      await verify('after the quota-refused import', 'quota-new', s.page, { 'no bank': 'absent' });
      await expectQuota(
        'overwriting import past the quota',
        toEnd(s.page, () => call(s.page, 'startImportFile', file, 'quota-old', true)),
      );
      await verify('after the quota-refused overwrite', 'quota-old', s.page, { 'the old bank': old });
    }),
  );
  // The same file without a quota: it imports whole (the quota, not the file, refused it above).
  profiles.push(
    await withQuota(url, null, async (s) => {
      await toEnd(s.page, () => call(s.page, 'startImportFile', file, 'quota-new', false));
      await verify('the same file without a quota', 'quota-new', s.page, { 'the source bank': fresh });
    }),
  );
  let before = 0,
    after = 0;
  // Encoding: the quota lies a third of the way through; then the browser restarts without one and encoding resumes.
  let control = '';
  profiles.push(
    await withQuota(url, null, async (s) => {
      await call(s.page, 'createEncodingBank', 'quota-encode');
      before = await usage(s);
      await call(s.page, 'encode', 'quota-encode', 20);
      after = await usage(s);
      control = (await call<BankDigest>(s.page, 'digest', 'quota-encode')).texts;
    }),
  );
  const profile = await withQuota(url, Math.round(before + (after - before) / 3), async (s) => {
    await call(s.page, 'createEncodingBank', 'quota-encode');
    await expectQuota(
      'encoding past the quota',
      toEnd(s.page, () => call(s.page, 'startEncoding', 'quota-encode', 20)),
    );
    await verify('after the quota-refused encoding', 'quota-encode', s.page, 'consistent');
  });
  profiles.push(profile);
  await withQuota(
    url,
    null,
    async (s) => {
      await call(s.page, 'encode', 'quota-encode', 20);
      await verify('encoding resumed without the quota', 'quota-encode', s.page, { 'what a clean run stores': control }, 'texts');
    },
    profile,
  );
}

function fuzzCases(): number {
  const dir = join(repoRoot, 'test/fuzz/.results');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .reduce((n, f) => n + (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { cases: number }).cases, 0);
}

async function main(): Promise<number> {
  const { server, url } = await startServer();
  const profiles = [mkdtempSync(join(tmpdir(), 'memory3-reliability-'))];
  try {
    await killScenarios(profiles[0], url);
    await quotaScenarios(url, profiles);
  } catch (err) {
    lost.push(`the run itself failed: ${(err as Error).stack ?? err}`);
  } finally {
    await server.close();
    for (const p of profiles) rmSync(p, { recursive: true, force: true });
  }
  for (const l of lost) console.log(`reliability: LOST ${l}`);
  console.log(`reliability: ${faults} faults injected, ${fuzzCases()} fuzz cases, ${lost.length} lost`);
  return lost.length === 0 && faults > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
