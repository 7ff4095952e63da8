/**
 * End-to-end: serves the demo with Vite's dev server and the PWA chat as a production build under
 * `vite preview` (so its service worker is the real one), both on 127.0.0.1, then drives them in
 * Debian's Chromium (SwiftShader WebGPU; never a downloaded browser). Each test saves screenshots in
 * test/e2e/__screenshots__/. Closes with "N passed, N failed". An argument filters tests by name.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { build, createServer, preview } from 'vite';
import { chromiumArgs, chromiumPath } from '../../vite.config';
import { repoRoot, type E2EContext, type E2ETest } from './harness';
import { demoTests } from '../../test/e2e/demo.e2e';
import { chatTests } from '../../test/e2e/chat.e2e';

const started = Date.now();
const log = (m: string) => console.log(`e2e: [${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
const filter = process.argv[2] ?? '';

async function main(): Promise<number> {
  const fixtures = spawnSync(process.execPath, [join(repoRoot, 'tools/fixtures/make.mjs'), '--if-missing'], { stdio: 'inherit' });
  if (fixtures.status !== 0) throw new Error('fixtures failed');
  const tests = [...demoTests, ...chatTests].filter((t) => t.name.includes(filter));
  const needChat = tests.some((t) => t.name.startsWith('chat'));

  let chatUrl = '';
  let chatServer: Awaited<ReturnType<typeof preview>> | null = null;
  const chatConfig = join(repoRoot, 'src/apps/chat/vite.config.ts');
  if (needChat) {
    log('building the chat PWA');
    // Built before the dev server starts: Vite's dev server sets NODE_ENV=development, which a build would inherit.
    process.env.NODE_ENV = 'production';
    await build({ configFile: chatConfig, mode: 'production', logLevel: 'warn' });
    delete process.env.NODE_ENV;
    chatServer = await preview({ configFile: chatConfig, logLevel: 'warn', preview: { host: '127.0.0.1', port: 5274, strictPort: false } });
    chatUrl = chatServer.resolvedUrls!.local[0];
    log(`chat preview at ${chatUrl}`);
  }
  const demo = await createServer({
    configFile: join(repoRoot, 'vite.config.ts'),
    root: join(repoRoot, 'src/apps/demo'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 5273 },
    // Everything the engine worker imports, optimized up front: a dependency discovered mid-test makes Vite reload the page.
    optimizeDeps: { include: ['minisearch', 'onnxruntime-web', 'onnxruntime-web/wasm'] },
  });
  await demo.listen();
  const demoUrl = demo.resolvedUrls!.local[0];
  log(`demo dev server at ${demoUrl}`);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  const ctx: E2EContext = { browser, demoUrl, chatUrl, log };
  let passed = 0,
    failed = 0;
  try {
    for (const t of tests) {
      const t0 = Date.now();
      try {
        await t.run(ctx);
        passed++;
        log(`✓ ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      } catch (err) {
        failed++;
        log(`✗ ${t.name}: ${(err as Error).stack ?? err}`);
      }
    }
  } finally {
    await browser.close();
    await demo.close();
    await new Promise<void>((ok) => (chatServer ? chatServer.httpServer.close(() => ok()) : ok()));
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

export type { E2ETest };
