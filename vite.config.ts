import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { browserCommands } from './test/helpers/commands';

/** Debian's Chromium with SwiftShader WebGPU (see shared/docs/environment.md). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
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

export default defineConfig({
  publicDir: `${projectRoot}public`,
  server: { fs: { strict: false } },
  worker: { format: 'es' },
  // Pre-bundled up front so Vite never reloads a running browser test to optimize them.
  optimizeDeps: { include: ['comlink', 'idb', '@huggingface/jinja', '@huggingface/tokenizers'] },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', environment: 'node', include: ['test/unit/**/*.test.ts'] } },
      browserProject('browser', ['test/kernels/**/*.test.ts', 'test/browser/**/*.test.ts'], 120_000),
      browserProject('oracle', ['test/oracle/**/*.test.ts'], 600_000),
    ],
  },
});
