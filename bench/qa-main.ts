/**
 * `npm run bench:qa [-- --quick | --limit N] [-- --codecs f16,int8]`: the default model answers the held-out
 * questions (bench/data/qa-heldout.json, written by tools/train/qa_set.py) from a bank the engine
 * writes of the held-out documents, in Chromium through the public API (bench/scenarios/qa-page.ts).
 * Writes bench/results/qa.json (--quick: bench/.cache/qa-quick.json); the summary line comes last:
 *   qa: memory X% none Y% rag Z% (N questions)   (held-out entities, f16 codec)
 */
import type { Page } from 'playwright';
import { runOnPage } from './lib/browser';
import { gitFacts, machineFacts, round, writeResults } from './lib/report';
import { cacheDir } from './lib/model';
import { startBenchServer } from './lib/server';
import type { CodecName } from '../src/memory/types';
import type { QaPageOptions, QaPageResult } from './scenarios/qa-page';

const codecNames: CodecName[] = ['f16', 'int8', 'int4', 'pq'];

function parseArgs(args: string[]): { quick: boolean; codecs: CodecName[]; limit: number | null } {
  let quick = false,
    codecs: CodecName[] = codecNames,
    limit: number | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--quick') quick = true;
    else if (args[i] === '--limit' && /^\d+$/.test(args[i + 1] ?? '')) limit = Number(args[++i]);
    else if (args[i] === '--codecs') {
      codecs = (args[++i] ?? '').split(',') as CodecName[];
      const bad = codecs.find((c) => !codecNames.includes(c));
      if (bad !== undefined || codecs[0] !== 'f16')
        throw new Error(`bench:qa: --codecs takes a list of ${codecNames.join(', ')} starting with f16, got ${args[i]}`);
    } else throw new Error(`bench:qa: unknown argument ${args[i]} (known: --quick, --codecs LIST, --limit N)`);
  }
  return { quick: quick || limit !== null, codecs: quick ? ['f16'] : codecs, limit: limit ?? (quick ? 30 : null) };
}

const pct = (right = 0, total = 0) => (total ? round((100 * right) / total, 1) : null);

async function main(): Promise<void> {
  const t0 = Date.now();
  const { quick, codecs, limit } = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  const server = await startBenchServer(cacheDir);
  let result: QaPageResult, browserVersion: string;
  try {
    const options: QaPageOptions = {
      modelUrl: `${server.url}/models/memory3-tiny/`,
      setUrl: `${server.url}/bench/data/qa-heldout.json`,
      codecs,
      limit,
      maxTokens: 16,
    };
    log(`page: dev server at ${server.url}, launching Chromium (codecs ${codecs.join(', ')})`);
    ({ result, browserVersion } = await runOnPage(
      server.url,
      { path: '/bench/qa-page.html', global: 'memory3QaBench' },
      log,
      (page: Page) =>
        page.evaluate(
          (o) => (window as unknown as { memory3QaBench: { run(o: unknown): Promise<unknown> } }).memory3QaBench.run(o),
          options,
        ) as Promise<QaPageResult>,
    ));
  } finally {
    await server.close();
  }
  const table: Record<string, Record<string, number | null>> = {};
  for (const [mode, m] of Object.entries(result.modes)) {
    table[mode] = Object.fromEntries(
      Object.keys(m.total)
        .sort()
        .map((k) => [k, pct(m.right[k], m.total[k])]),
    );
  }
  const h = 'heldout_entities',
    f16 = result.modes;
  const n = f16.memory.total[h] ?? 0;
  const summary = `qa: memory ${table.memory[h]}% none ${table.none[h]}% rag ${table.rag[h]}% (${n} questions)`;
  const codecLine = codecs
    .slice(1)
    .map((c) => `${c} ${table[`memory_${c}`][h]}%`)
    .join(', ');
  const results = {
    bench: 'qa',
    quick,
    date: new Date().toISOString(),
    ...gitFacts(),
    machine: machineFacts(),
    browser: browserVersion,
    adapter: result.adapter,
    modelFingerprint: result.modelFingerprint,
    policy: result.policy,
    questions: result.questions,
    encode: result.encode,
    exactMatchPct: table,
    goldRetrievedPct: Object.fromEntries(Object.entries(result.modes).map(([k, m]) => [k, pct(m.goldRetrieved, m.total.all)])),
    memoriesPerQuestion: Object.fromEntries(Object.entries(result.modes).map(([k, m]) => [k, round(m.spliced / m.total.all, 2)])),
    msPerQuestion: Object.fromEntries(Object.entries(result.modes).map(([k, m]) => [k, round(m.ms / m.total.all, 1)])),
    examples: result.examples,
    summary: codecLine ? `${summary}; codecs ${codecLine}` : summary,
  };
  log(`results written to ${writeResults(quick ? 'bench/.cache/qa-quick.json' : 'bench/results/qa.json', results)}`);
  console.log(results.summary);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
