/** The e2e harness shared by the test files: what a test receives, and screenshots. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const screenshotDir = join(repoRoot, 'test/e2e/__screenshots__');

export interface E2EContext {
  browser: Browser;
  /** Base URLs of the served apps (demo: Vite dev server; chat: `vite preview` of a production build). */
  demoUrl: string;
  chatUrl: string;
  log: (msg: string) => void;
}

export interface E2ETest {
  name: string;
  run(ctx: E2EContext): Promise<void>;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Collects page errors and console errors (not 404s: probing optional model files is expected to 404) so a test can fail on them with the browser's words. */
export function watchPage(page: Page, log: (m: string) => void): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: .* 404/.test(m.text())) errors.push(`console: ${m.text()}`);
    if (process.env.E2E_VERBOSE) log(`[console.${m.type()}] ${m.text()}`);
  });
  return errors;
}

export async function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
}

export function expectThat(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`expectation failed: ${message}`);
}
