/**
 * Bench CLI (bench/run.mjs runs it through tsx): `npm run bench [-- --quick] [--warmup-tokens N]
 * [--threads N] [--scenario speed]`. Progress lines first; the scenario's one-line summary is
 * printed last. Benchmarks report figures only: nothing here asserts a speed.
 */
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
    scenario: s >= 0 ? args[s + 1] : 'speed', quick: args.includes('--quick'),
    warmupTokens: intArg(args, '--warmup-tokens'), threads: intArg(args, '--threads'),
  };
}

const scenarios: Record<string, (o: CliOptions, log: (l: string) => void) => Promise<{ results: unknown; summary: string; file: string }>> = {
  speed: async (o, log) => ({
    ...(await runSpeedBench({ quick: o.quick, warmupTokens: o.warmupTokens, threads: o.threads, log })),
    file: o.quick ? 'bench/.cache/quick-results.json' : 'bench/results/latest.json',
  }),
};

async function main(): Promise<void> {
  const t0 = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  const run = scenarios[opts.scenario];
  if (!run) throw new Error(`bench: no scenario "${opts.scenario}" (has: ${Object.keys(scenarios).join(', ')})`);
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const { results, summary, file } = await run(opts, log);
  log(`results written to ${writeResults(file, results)}`);
  console.log(summary);
}

main().then(() => process.exit(0), (err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
