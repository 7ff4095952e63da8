/**
 * Chromium for the memory bench: bench/lib/browser.ts's launcher on bench/memory-page.html, calling
 * its `memory3MemoryBench.run`.
 */
import type { Page } from 'playwright';
import { runOnPage } from './lib/browser';

function evaluate<R>(page: Page, options: unknown): Promise<R> {
  return page.evaluate(
    (opts) => (window as unknown as { memory3MemoryBench: { run(o: unknown): Promise<unknown> } }).memory3MemoryBench.run(opts),
    options,
  ) as Promise<R>;
}

/** Launches Chromium, runs the memory page scenario with `options`, closes the browser; resolves to its result and the browser version. */
export function runMemoryPage<R>(
  serverUrl: string,
  options: unknown,
  log: (line: string) => void,
): Promise<{ result: R; browserVersion: string }> {
  return runOnPage(serverUrl, { path: '/bench/memory-page.html', global: 'memory3MemoryBench' }, log, (page) => evaluate<R>(page, options));
}
