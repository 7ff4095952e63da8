/** Vitest browser commands: code that runs in Node on behalf of a browser test. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { BrowserCommand } from 'vitest/node';
import type { LlamaCppForcedOptions, LlamaCppForcedResult } from './llamacpp';

/** llama.cpp oracle for browser tests; node-llama-cpp loads lazily, only when a test calls it. */
const llamaCppForced: BrowserCommand<[options: LlamaCppForcedOptions]> = async (_ctx, options) => {
  const { llamaCppForced: run } = await import('./llamacpp');
  return run(options);
};

export interface ReferenceLogitsOptions {
  dir: string; // repo-relative model folder, or a .gguf file
  tokens: number[];
  lastRows?: number; // return the logits of the last N positions (default 1)
}

const ggufReferences = new Map<string, Promise<import('../reference/llama').ReferenceModel>>();

/** Float64 CPU reference forward (test/reference/llama.ts) on the same safetensors files (or GGUF file). */
const referenceLogits: BrowserCommand<[options: ReferenceLogitsOptions]> = async (_ctx, o) => {
  const { loadReferenceGguf, loadReferenceModel, referenceLogits: run } = await import('../reference/llama');
  const path = resolve(process.cwd(), o.dir);
  let model: Awaited<ReturnType<typeof loadReferenceGguf>>;
  if (o.dir.endsWith('.gguf')) {
    // parsed and dequantized once per file and test run
    const cached = ggufReferences.get(path) ?? loadReferenceGguf(path);
    ggufReferences.set(path, cached);
    model = await cached;
  } else {
    model = loadReferenceModel(path);
  }
  const rows = run(model, o.tokens);
  return rows.slice(rows.length - (o.lastRows ?? 1)).map((r) => Array.from(r));
};

export interface MemoryReferenceOptions {
  dir: string;
  tokens: number[];
  positions: number[];
  /** Memory sets: per model layer (absent = none) the slots as the engine lays them out. */
  memories: Record<number, { keys: number[]; values: number[]; count: number; headMask: number }>[];
  /** For each token, the index into `memories` it attends to (null: none). */
  memoryOf: (number | null)[];
  lastRows?: number;
}

/** Float64 reference with explicit memory (referenceLogitsWithMemory, test/reference/transformer.ts). */
const referenceLogitsWithMemory: BrowserCommand<[options: MemoryReferenceOptions]> = async (_ctx, o) => {
  const { loadReferenceModel } = await import('../reference/llama');
  const { referenceLogitsWithMemory: run } = await import('../reference/transformer');
  const model = loadReferenceModel(resolve(process.cwd(), o.dir));
  const sets = o.memories.map((set) =>
    Object.fromEntries(
      Object.entries(set).map(([l, mem]) => [
        l,
        { keys: Float64Array.from(mem.keys), values: Float64Array.from(mem.values), count: mem.count, headMask: mem.headMask },
      ]),
    ),
  );
  const rows = run(model, o.tokens, o.positions, (t, layer) => {
    const i = o.memoryOf[t];
    return i === null || i === undefined ? null : (sets[i][layer] ?? null);
  });
  return rows.slice(rows.length - (o.lastRows ?? 1)).map((r) => Array.from(r));
};

/** Writes a JSON result file (repo-relative path) that a summary script prints after the run. */
const writeJson: BrowserCommand<[path: string, value: unknown]> = async (_ctx, path, value) => {
  const full = resolve(process.cwd(), path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, JSON.stringify(value, null, 2));
};

/** Reads a repo-relative file as bytes (base64), for tests that build corrupted copies of fixtures. */
const readFileBase64: BrowserCommand<[path: string]> = async (_ctx, path) => readFileSync(resolve(process.cwd(), path)).toString('base64');

/** Used JS heap (bytes, after a GC) of the page's dedicated worker named `name`, over CDP. */
const workerHeap: BrowserCommand<[name: string]> = async (ctx, name) => {
  const { workerHeap: measure } = await import('../../tools/soak/worker-heap');
  const browser = ctx.context.browser();
  if (!browser) throw new Error('workerHeap: no browser behind this context');
  return measure(browser, name);
};

export const browserCommands = { llamaCppForced, referenceLogits, referenceLogitsWithMemory, writeJson, readFileBase64, workerHeap };

declare module 'vitest/browser' {
  interface BrowserCommands {
    /** See test/helpers/llamacpp.ts; `gguf` is repo-relative. */
    llamaCppForced: (options: LlamaCppForcedOptions) => Promise<LlamaCppForcedResult>;
    referenceLogits: (options: ReferenceLogitsOptions) => Promise<number[][]>;
    referenceLogitsWithMemory: (options: MemoryReferenceOptions) => Promise<number[][]>;
    writeJson: (path: string, value: unknown) => Promise<void>;
    readFileBase64: (path: string) => Promise<string>;
    workerHeap: (name: string) => Promise<number>;
  }
}
