import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { browserCommands } from './test/helpers/commands';

/** Debian's Chromium with SwiftShader WebGPU (see shared/docs/environment.md). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function browserProject(name: string, include: string[], testTimeout: number) {
  return {
    extends: true as const,
    test: {
      name,
      include,
      testTimeout,
      hookTimeout: testTimeout,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
        instances: [{ browser: 'chromium' as const }],
        commands: browserCommands,
      },
    },
  };
}

const projectRoot = fileURLToPath(new URL('.', import.meta.url));

/**
 * Library build (`npm run build`): ESM in dist/, dependencies external. Each Web Worker that src/
 * starts with `new Worker(new URL('./x.ts', import.meta.url), ...)` (the engine worker, from
 * src/api/engine.ts) becomes its own entry chunk dist/x.js in this same build (dependencies external
 * there too, shared code in dist/chunks/), and the call site keeps the literal form
 * `new Worker(new URL('./x.js', import.meta.url), ...)` that a consumer's bundler recognizes and
 * bundles. Vite's own lib-mode worker handling would instead inline every dependency into the worker
 * and emit a root-absolute, `@vite-ignore`d URL that a consumer's build skips.
 * A consumer's Vite bundles workers as 'iife' by default, which cannot code-split: so in the code a
 * worker runs, `import('dependency')` becomes a static namespace import (loaded with the worker, used
 * as before), and a dynamic import of our own modules fails this build.
 */
const libraryDependencies = ['comlink', 'idb', '@huggingface/jinja', '@huggingface/tokenizers', 'onnxruntime-web', 'minisearch'];
const workerUrlPattern = /(\bnew\s+(?:Shared)?Worker\s*\(\s*)new\s+URL\(\s*(['"])(\.{1,2}\/[^'"]+\.ts)\2\s*,\s*import\.meta\.url\s*\)/g;
const workerPlaceholder = /__MEMORY3_WORKER_URL_(\d+)__/g;

function workerEntryChunks(): Plugin {
  const refs: string[] = [];
  const names = new Map<string, string>(); // worker source path → dist file name
  return {
    name: 'memory3:worker-entry-chunks',
    transform: {
      order: 'pre',
      handler(code, id) {
        if (id.includes('/node_modules/') || !code.includes('import.meta.url')) return null;
        const out = code.replace(workerUrlPattern, (_m, head: string, _q: string, rel: string) => {
          const file = posix.join(posix.dirname(id), rel);
          const fileName = `${posix.basename(rel, '.ts')}.js`;
          if ([...names].some(([f, n]) => n === fileName && f !== file)) this.error(`two workers named ${fileName}`);
          if (!names.has(file)) {
            names.set(file, fileName);
            refs.push(this.emitFile({ type: 'chunk', id: file, fileName }));
          }
          return `${head}__MEMORY3_WORKER_URL_${[...names.keys()].indexOf(file)}__`;
        });
        return out === code ? null : { code: out, map: null };
      },
    },
    renderChunk(code, chunk) {
      if (!code.includes('__MEMORY3_WORKER_URL_')) return null;
      return {
        code: code.replace(workerPlaceholder, (_m, i: string) => {
          const target = posix.relative(posix.dirname(chunk.fileName), this.getFileName(refs[Number(i)]));
          return `new URL(${JSON.stringify(target.startsWith('.') ? target : `./${target}`)}, import.meta.url)`;
        }),
        map: null,
      };
    },
    generateBundle(_options, bundle) {
      const seen = new Set<string>();
      const queue = refs.map((r) => this.getFileName(r));
      for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
        const chunk = bundle[file];
        if (seen.has(file) || chunk?.type !== 'chunk') continue;
        seen.add(file);
        queue.push(...chunk.imports);
        const internal = chunk.dynamicImports.filter((d) => d in bundle);
        if (internal.length)
          this.error(
            `${file} (run in a worker) dynamically imports ${internal.join(', ')}: consumers' iife worker builds cannot code-split`,
          );
        chunk.code = staticDynamicImports(chunk.code);
      }
    },
  };
}

/** `import('dep')` → `Promise.resolve(ns)` with `import * as ns from 'dep'` prepended on line 1 (source maps keep their lines). */
function staticDynamicImports(code: string): string {
  const heads: string[] = [];
  const body = code.replace(/\bimport\(\s*(["'])([^"']+)\1\s*\)/g, (m, _q: string, spec: string) => {
    if (!libraryDependencies.some((d) => spec === d || spec.startsWith(`${d}/`))) return m;
    heads.push(`import * as __memory3_dep_${heads.length} from ${JSON.stringify(spec)};`);
    return `Promise.resolve(__memory3_dep_${heads.length - 1})`;
  });
  return heads.join('') + body;
}

export default defineConfig({
  publicDir: `${projectRoot}public`,
  server: { fs: { strict: false } },
  worker: { format: 'es' },
  // Pre-bundled up front so Vite never reloads a running browser test to optimize them.
  optimizeDeps: {
    include: ['comlink', 'idb', '@huggingface/jinja', '@huggingface/tokenizers', 'minisearch', 'onnxruntime-web', 'onnxruntime-web/webgpu'],
  },
  build: {
    lib: { entry: `${projectRoot}src/index.ts`, formats: ['es'], fileName: 'index' },
    outDir: 'dist',
    target: 'es2022',
    minify: false,
    sourcemap: true,
    copyPublicDir: false,
    rollupOptions: {
      external: (id) => libraryDependencies.some((d) => id === d || id.startsWith(`${d}/`)),
      plugins: [workerEntryChunks()],
      output: { chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  test: {
    projects: [
      // Generous timeouts: correctness tests, never speed tests; CI machines may be loaded.
      { extends: true, test: { name: 'unit', environment: 'node', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      browserProject('browser', ['test/kernels/**/*.test.ts', 'test/browser/**/*.test.ts'], 120_000),
      browserProject('oracle', ['test/oracle/**/*.test.ts'], 600_000),
      // Hostile inputs and faults (npm run test:reliability): Node files, then browser files.
      {
        extends: true,
        test: {
          name: 'fuzz',
          environment: 'node',
          include: ['test/fuzz/**/*.fuzz.ts'],
          exclude: ['test/fuzz/**/*.browser.fuzz.ts'],
          testTimeout: 300_000,
        },
      },
      browserProject('fuzz-browser', ['test/fuzz/**/*.browser.fuzz.ts'], 300_000),
    ],
  },
});
