/**
 * The offline chat PWA: `vite build --config src/apps/chat/vite.config.ts` (then `vite preview` with the
 * same config). The service worker (sw.ts, built by vite-plugin-pwa's injectManifest) precaches the
 * app shell and caches model and bank files on first use in a cache of their own, so app updates
 * (which replace the precache) never throw models away. The engine runs in its dedicated worker.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: `${repo}public`,
  // No single-page fallback: a missing model file must be a 404, not index.html.
  appType: 'mpa',
  worker: { format: 'es' },
  build: { outDir: `${repo}dist/apps/chat`, emptyOutDir: true, target: 'es2022' },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: '.',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: {
        name: 'memory3 chat',
        short_name: 'memory3',
        description: 'A private chat with a language model running on your GPU, offline, with knowledge banks.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#0f1424',
        theme_color: '#3f63f0',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // The app shell only: models are cached at run time by the service worker (sw.ts), and the
        // ONNX wasm (only for embedding retrievers, which the chat does not use) stays out.
        globPatterns: ['**/*.{js,css,html,png,svg,webmanifest}'],
        globIgnores: ['models/**', '**/*.wasm'],
        maximumFileSizeToCacheInBytes: 8 * 2 ** 20,
      },
    }),
  ],
});
