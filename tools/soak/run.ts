/**
 * `npm run soak [-- --turns N]` (default 1,000): a long chat session with explicit memory on the
 * default model and its shipped knowledge bank, in Chromium, memories swapped while decoding and the
 * memory's shape swapped every 25 turns. Writes bench/results/soak.json: the engine's live GPU buffers
 * (every one it created, counted) and its worker's JS heap after a GC, sampled along the way, and
 * whether both stayed flat after warm-up. Exits 1 when they did not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { chromiumArgs, chromiumPath } from '../../vite.config';
import { repoRoot } from '../e2e/harness';
import { flatness, type SoakReport } from '../../test/helpers/soak';
import { workerHeap } from './worker-heap';
/** The engine worker's name in tools/soak/page.ts (the heap is read from the worker of that name). */
const workerName = 'memory3-soak';

const started = Date.now();
const log = (m: string) => console.log(`soak: [${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
const turnsArg = process.argv.indexOf('--turns');
const turns = turnsArg > 0 ? Number(process.argv[turnsArg + 1]) : 1000;
/**
 * Turns before the figures count: memory slots of both shapes allocated, pipelines compiled. The
 * tokenizer's BPE word cache (an LRU of at most 10,000 words, bounded) would keep growing for longer
 * with a model that makes up names, so the page empties it before each heap read and reports its size.
 */
const warmupTurns = Math.floor(turns * 0.4);
/** A leak of a few hundred bytes a turn is what this can see over 1,000 turns; noise is below it. */
const maxHeapBytesPerTurn = 256;

async function main(): Promise<number> {
  if (!Number.isInteger(turns) || turns < 10) throw new Error('soak: --turns needs an integer ≥ 10');
  const server = await createServer({
    configFile: join(repoRoot, 'vite.config.ts'),
    root: repoRoot,
    logLevel: 'warn',
    clearScreen: false,
    optimizeDeps: { include: ['minisearch', 'onnxruntime-web', 'onnxruntime-web/wasm'] },
    server: {
      host: '127.0.0.1',
      port: 5573,
      strictPort: false,
      hmr: false,
      watch: null,
      warmup: { clientFiles: ['./tools/soak/page.ts', './src/worker/worker.ts'] },
    },
  });
  await server.listen();
  await server.waitForRequestsIdle();
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.text().startsWith('soak:')) log(m.text().slice(5).trim());
    });
    page.on('pageerror', (e) => log(`page exception: ${e.message}`));
    await page.exposeFunction('soakHeap', () => workerHeap(browser, workerName));
    await page.goto(`${server.resolvedUrls!.local[0]}tools/soak/page.html`);
    await page.waitForFunction(() => 'memory3Soak' in window);
    log(`${turns} turns`);
    const report = await page.evaluate(
      (o) =>
        (
          window as unknown as { memory3Soak: { run(o: unknown): Promise<SoakReport & { contextLength: number; adapter: string }> } }
        ).memory3Soak.run(o),
      { turns, heapEvery: 10 },
    );
    const f = flatness(report.samples, warmupTurns);
    const gpuFlat = Object.values(f.gpu).every((g) => g.buffers[0] === g.buffers[1] && g.bytes[0] === g.bytes[1]);
    const heapFlat = f.heap.bytesPerTurn < maxHeapBytesPerTurn;
    const out = {
      date: new Date().toISOString(),
      browser: browser.version(),
      model: 'memory3-tiny',
      bank: 'memory3-tiny-knowledge',
      adapter: report.adapter,
      contextLength: report.contextLength,
      turns,
      warmupTurns,
      conversations: report.conversations,
      decodeRetrievals: report.decodeRetrievals,
      minutes: +(report.ms / 60000).toFixed(1),
      gpu: f.gpu,
      heap: f.heap,
      heapExcludes: "the tokenizer's BPE word cache (emptied before each heap read; its size is in each sample)",
      verdict: { gpuFlat, heapFlat, maxHeapBytesPerTurn },
      samples: report.samples
        .filter((s) => s.heap !== null)
        .map(({ turn, memory, buffers, bufferBytes, created, heap, tokenizerWords }) => ({
          turn,
          memory,
          buffers,
          bufferBytes,
          created,
          heap,
          tokenizerWords,
        })),
    };
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench/results/soak.json'), `${JSON.stringify(out, null, 2)}\n`);
    log(
      `GPU per memory after warm-up: ${JSON.stringify(f.gpu)}; heap ${f.heap.first} → ${f.heap.last} bytes (${f.heap.bytesPerTurn.toFixed(1)} bytes/turn); ${report.conversations} conversations, ${report.decodeRetrievals} decode retrievals; bench/results/soak.json`,
    );
    log(gpuFlat && heapFlat ? 'flat' : 'NOT flat');
    return gpuFlat && heapFlat ? 0 : 1;
  } finally {
    await browser.close();
    await server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
