/**
 * Page side of the memory bench's decode-swap runs: the same short prompt decoded without memory
 * and with it, long enough for `count` decode-time memory swaps (interval × count + 2 tokens), in
 * one session. Per swap: the retrieval's latency, the lead it had (its start to the step that
 * needed it), the slack (lead − latency), how long that step waited, and that step's own time.
 */
import type { GenerationUsage, Memory3Engine, RetrievalEvent } from '../../src/index';
import { medianGap } from '../lib/stats';

export interface SwapOptions {
  /** Generated tokens between swaps (retrievalInterval at generation). */
  interval: number;
  /** retrievalLead at generation (tokens before a swap its retrieval starts). */
  lead: number;
  /** Decode-time swaps to include. */
  count: number;
}

export interface SwapFigures {
  chunk: number;
  latencyMs: number;
  leadMs: number;
  slackMs: number;
  waitMs: number;
  /** Time of the decode step that swapped the memories in (page clock, token to token). */
  stepMs: number;
  references: number;
}

export interface SwapRunFigures {
  generatedTokens: number;
  none: { usage: GenerationUsage; medianStepMs: number };
  memory: { usage: GenerationUsage; medianStepMs: number };
  swaps: SwapFigures[];
}

type Gen = Parameters<Memory3Engine['generate']>[0];

async function run(engine: Memory3Engine, req: Gen) {
  await engine.resetContext();
  const at: number[] = [];
  const stream = engine.generate(req);
  for await (const d of stream) if (d.tokens.length > 0) at.push(performance.now());
  return { result: await stream.result, at };
}

export async function swapRuns(
  engine: Memory3Engine,
  prompt: number[],
  bank: string,
  policy: { memoriesPerRetrieval: number; dedupThreshold: number | null },
  o: SwapOptions,
  log: (line: string) => void,
): Promise<SwapRunFigures> {
  const maxTokens = o.interval * o.count + 2; // the token at index interval × count is fed, so its swap happens
  const base: Gen = { tokens: prompt, maxTokens, temperature: 0, ignoreEos: true };
  log(`swaps: ${prompt.length} prompt + ${maxTokens} generated tokens without memory`);
  const none = await run(engine, base);
  log(`swaps: the same with memory (interval ${o.interval}, lead ${o.lead}: ${o.count} decode swaps)`);
  const memory = await run(engine, {
    ...base,
    memory: { bank, policy: { ...policy, retrievalInterval: o.interval, retrievalLead: o.lead } },
  });
  const events = (memory.result.retrievals ?? []).filter((e: RetrievalEvent) => e.phase === 'decode' && !e.reused);
  const swaps = events.map((e) => {
    const s = e.span[0]; // the step fed token s swapped; it produced token s + 1
    return {
      chunk: e.chunk,
      latencyMs: e.ms,
      leadMs: e.leadMs,
      slackMs: e.leadMs - e.ms,
      waitMs: e.waitMs,
      stepMs: memory.at[s + 1] - memory.at[s],
      references: e.references.length,
    };
  });
  for (const w of swaps)
    log(
      `swap ${w.chunk}: retrieval ${w.latencyMs.toFixed(1)} ms, lead ${w.leadMs.toFixed(0)} ms, slack ${w.slackMs.toFixed(0)} ms, waited ${w.waitMs.toFixed(1)} ms`,
    );
  return {
    generatedTokens: memory.result.tokens.length,
    none: { usage: none.result.usage, medianStepMs: medianGap(none.at) },
    memory: { usage: memory.result.usage, medianStepMs: medianGap(memory.at) },
    swaps,
  };
}
