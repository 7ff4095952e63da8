/** Vitest browser commands: code that runs in Node on behalf of a browser test. */
import type { BrowserCommand } from 'vitest/node';
import type { LlamaCppForcedOptions, LlamaCppForcedResult } from './llamacpp';

/** llama.cpp oracle for browser tests; node-llama-cpp loads lazily, only when a test calls it. */
const llamaCppForced: BrowserCommand<[options: LlamaCppForcedOptions]> = async (_ctx, options) => {
  const { llamaCppForced: run } = await import('./llamacpp');
  return run(options);
};

export const browserCommands = { llamaCppForced };

declare module 'vitest/browser' {
  interface BrowserCommands {
    /** See test/helpers/llamacpp.ts; `gguf` is repo-relative. */
    llamaCppForced: (options: LlamaCppForcedOptions) => Promise<LlamaCppForcedResult>;
  }
}
