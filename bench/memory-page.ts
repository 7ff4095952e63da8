/**
 * The memory bench's page (bench/memory-page.html): exposes `window.memory3MemoryBench.run(options)`
 * for bench/memory-browser.ts. Progress goes to the console with the `bench:` prefix (forwarded to
 * the terminal) and to the page.
 */
import { memoryScenario, type MemoryPageOptions } from './scenarios/memory-page';

const log = (line: string) => {
  console.log(`bench: ${line}`);
  document.getElementById('log')?.append(`${line}\n`);
};

(window as unknown as { memory3MemoryBench: unknown }).memory3MemoryBench = {
  run: (options: MemoryPageOptions) => memoryScenario(options, log),
};
