/**
 * Chromium for the memory bench: like bench/lib/browser.ts (same executable and SwiftShader flags,
 * same `bench:` log forwarding), but opens bench/memory-page.html and calls its
 * `memory3MemoryBench.run`. A run that fails after Vite re-optimized a dependency mid-load (HTTP 504
 * for a pre-bundled dependency) runs once more in a fresh page.
 */
import { chromium, type Browser, type Page } from 'playwright';
import { chromiumArgs, chromiumPath } from '../vite.config';
import { pageLogPrefix } from './lib/browser';

interface PageState { outdatedDeps: boolean }

async function openPage(browser: Browser, url: string, log: (line: string) => void, state: PageState): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (msg) => {
    const text = msg.text();
    if (text.startsWith(pageLogPrefix)) log(text.slice(pageLogPrefix.length).trim());
    else if (msg.type() === 'error' && !text.startsWith('Failed to load resource')) log(`page error: ${text}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const path = new URL(res.url()).pathname;
    if (res.status() === 504 && path.includes('/.vite/deps/')) state.outdatedDeps = true;
    log(`page: HTTP ${res.status()} for ${path}`);
  });
  page.on('pageerror', (err) => log(`page exception: ${err.message}`));
  await page.goto(`${url}/bench/memory-page.html`);
  await page.waitForFunction(() => (window as unknown as { memory3MemoryBench?: unknown }).memory3MemoryBench !== undefined, null, { timeout: 120_000 });
  return page;
}

function evaluate<R>(page: Page, options: unknown): Promise<R> {
  return page.evaluate(
    (opts) => (window as unknown as { memory3MemoryBench: { run(o: unknown): Promise<unknown> } }).memory3MemoryBench.run(opts),
    options,
  ) as Promise<R>;
}

/** Launches Chromium, runs the memory page scenario with `options`, closes the browser; resolves to its result and the browser version. */
export async function runMemoryPage<R>(serverUrl: string, options: unknown, log: (line: string) => void): Promise<{ result: R; browserVersion: string }> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  try {
    const state: PageState = { outdatedDeps: false };
    let page = await openPage(browser, serverUrl, log, state);
    let result: R;
    try {
      result = await evaluate<R>(page, options);
    } catch (err) {
      if (!state.outdatedDeps) throw err;
      log(`page: ${(err as Error).message.split('\n')[0]}; Vite re-optimized a dependency: retrying in a fresh page`);
      await page.close();
      state.outdatedDeps = false;
      page = await openPage(browser, serverUrl, log, state);
      result = await evaluate<R>(page, options);
    }
    return { result, browserVersion: browser.version() };
  } finally {
    await browser.close();
  }
}
