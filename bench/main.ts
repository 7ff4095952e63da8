/**
 * Bench CLI (bench/run.mjs runs it through tsx): `npm run bench [-- --quick] [--warmup-tokens N]
 * [--threads N] [--scenario speed|q4|all]` (default all: the SmolLM2-135M-shaped speed run, then
 * the Llama-3.2-1B-shaped Q4_0 one). Progress lines first; each scenario's one-line summary is
 * printed last. Benchmarks report figures only: nothing here asserts a speed.
 */
import { runQ4Bench } from './scenarios/q4';
import { runSpeedBench } from './scenarios/speed';
import { writeResults } from './lib/report';

interface CliOptions {
  scenario: string;
  quick: boolean;
  warmupTokens?: number;
  threads?: number;
}

function intArg(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`bench: ${name} needs a positive integer, got ${args[i + 1]}`);
  return v;
}

function parseArgs(args: string[]): CliOptions {
  const known = new Set(['--quick', '--warmup-tokens', '--threads', '--scenario']);
  args.forEach((a, i) => {
    const isValue = i > 0 && ['--warmup-tokens', '--threads', '--scenario'].includes(args[i - 1]);
    if (!isValue && !known.has(a)) throw new Error(`bench: unknown argument ${a} (known: ${[...known].join(', ')})`);
  });
  const s = args.indexOf('--scenario');
  return {
    scenario: s >= 0 ? args[s + 1] : 'all',
    quick: args.includes('--quick'),
    warmupTokens: intArg(args, '--warmup-tokens'),
    threads: intArg(args, '--threads'),
  };
}

const scenarios: Record<string, (o: CliOptions, log: (l: string) => void) => Promise<{ results: unknown; summary: string; file: string }>> =
  {
    speed: async (o, log) => ({
      ...(await runSpeedBench({ quick: o.quick, warmupTokens: o.warmupTokens, threads: o.threads, log })),
      file: o.quick ? 'bench/.cache/quick-results.json' : 'bench/results/latest.json',
    }),
    q4: async (o, log) => ({
      ...(await runQ4Bench({ quick: o.quick, warmupTokens: o.warmupTokens, threads: o.threads, log })),
      file: o.quick ? 'bench/.cache/quick-q4.json' : 'bench/results/q4.json',
    }),
  };

async function main(): Promise<void> {
  const t0 = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  const names = opts.scenario === 'all' ? Object.keys(scenarios) : [opts.scenario];
  for (const name of names) {
    if (!scenarios[name]) throw new Error(`bench: no scenario "${name}" (has: ${Object.keys(scenarios).join(', ')}, all)`);
  }
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const summaries: string[] = [];
  for (const name of names) {
    const { results, summary, file } = await scenarios[name](opts, log);
    log(`results written to ${writeResults(file, results)}`);
    summaries.push(summary);
  }
  for (const s of summaries) console.log(s);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
