/**
 * Memory bench CLI (bench/memory.mjs runs it through tsx): `npm run bench:memory [-- --quick]`.
 * Progress lines first; the one-line summary is printed last. Figures only: nothing asserts a speed.
 */
import { writeResults } from './lib/report';
import { runMemoryBench } from './scenarios/memory';

async function main(): Promise<void> {
  const t0 = Date.now();
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--quick');
  if (unknown.length) throw new Error(`bench:memory: unknown argument ${unknown[0]} (known: --quick)`);
  const quick = args.includes('--quick');
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const { results, summary } = await runMemoryBench({ quick, log });
  const file = quick ? 'bench/.cache/memory-quick.json' : 'bench/results/memory.json';
  log(`results written to ${writeResults(file, results)} (${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  console.log(summary);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
