/**
 * Chromium (Debian's, with the SwiftShader WebGPU flags of vite.config.ts) driven by playwright: opens
 * bench/page.html on the bench server and runs a named page scenario (bench/page.ts). Lines the page
 * logs with the `bench:` prefix are forwarded as progress.
 */
import { chromium, type Browser, type Page } from 'playwright';
import { chromiumArgs, chromiumPath } from '../../vite.config';

export const pageLogPrefix = 'bench:';

export interface BenchPage {
  browserVersion: string;
  /** Runs `scenario` in the page with JSON-serializable options; resolves to its JSON result. */
  run<R>(scenario: string, options: unknown): Promise<R>;
}

interface PageState {
  outdatedDeps: boolean; // Vite answered 504 for a pre-bundled dependency it re-optimized meanwhile
}

/** A bench page: its path on the bench server and the global object it defines once ready. */
export interface PageSpec {
  path: string;
  global: string;
}

const speedPage: PageSpec = { path: '/bench/page.html', global: 'memory3Bench' };

async function openPage(
  browser: Browser,
  serverUrl: string,
  log: (line: string) => void,
  state: PageState,
  spec: PageSpec = speedPage,
): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (msg) => {
    const text = msg.text();
    if (text.startsWith(pageLogPrefix)) log(text.slice(pageLogPrefix.length).trim());
    else if (msg.type() === 'error' && !text.startsWith('Failed to load resource')) log(`page error: ${text}`);
  });
  // Chrome's console line for an HTTP error has no URL; this one does (the engine probes optional files).
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const path = new URL(res.url()).pathname;
    if (res.status() === 504 && path.includes('/.vite/deps/')) state.outdatedDeps = true;
    log(`page: HTTP ${res.status()} for ${path}`);
  });
  page.on('pageerror', (err) => log(`page exception: ${err.message}`));
  await page.goto(`${serverUrl}${spec.path}`);
  await page.waitForFunction((name) => (window as unknown as Record<string, unknown>)[name] !== undefined, spec.global, {
    timeout: 120_000,
  });
  return page;
}

/**
 * Launches Chromium, opens the page of `spec`, calls `evaluate` in it once (once more in a fresh
 * page when Vite re-optimized a dependency mid-load), and always closes the browser.
 */
export async function runOnPage<R>(
  serverUrl: string,
  spec: PageSpec,
  log: (line: string) => void,
  evaluate: (page: Page) => Promise<R>,
): Promise<{ result: R; browserVersion: string }> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  try {
    const state: PageState = { outdatedDeps: false };
    let page = await openPage(browser, serverUrl, log, state, spec);
    try {
      return { result: await evaluate(page), browserVersion: browser.version() };
    } catch (err) {
      if (!state.outdatedDeps) throw err;
      log(`page: ${(err as Error).message.split('\n')[0]}; Vite re-optimized a dependency: retrying in a fresh page`);
      await page.close();
      page = await openPage(browser, serverUrl, log, { outdatedDeps: false }, spec);
      return { result: await evaluate(page), browserVersion: browser.version() };
    }
  } finally {
    await browser.close();
  }
}

function evaluateScenario<R>(page: Page, scenario: string, options: unknown): Promise<R> {
  return page.evaluate(
    ([name, opts]) =>
      (window as unknown as { memory3Bench: { run(n: string, o: unknown): Promise<unknown> } }).memory3Bench.run(name, opts),
    [scenario, options] as const,
  ) as Promise<R>;
}

/**
 * Launches Chromium, opens the bench page, calls `fn`, and always closes the browser. A scenario
 * that fails after Vite re-optimized a dependency mid-load runs once more in a fresh page.
 */
export async function withBenchPage<T>(serverUrl: string, log: (line: string) => void, fn: (page: BenchPage) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  try {
    const state: PageState = { outdatedDeps: false };
    let page = await openPage(browser, serverUrl, log, state);
    return await fn({
      browserVersion: browser.version(),
      run: async <R>(scenario: string, options: unknown) => {
        try {
          return await evaluateScenario<R>(page, scenario, options);
        } catch (err) {
          if (!state.outdatedDeps) throw err;
          log(`page: ${(err as Error).message.split('\n')[0]}; Vite re-optimized a dependency: retrying in a fresh page`);
          await page.close();
          state.outdatedDeps = false;
          page = await openPage(browser, serverUrl, log, state);
          return evaluateScenario<R>(page, scenario, options);
        }
      },
    });
  } finally {
    await browser.close();
  }
}
