/**
 * The speed bench's peers, node side: running a browser peer's page scenario without letting its
 * failure end the bench, finding the onnxruntime-web peer's model (bench/peers/ort-model.ts), and the figures, id agreement and ratios the results file gives each peer.
 */
import { ensureOrtBenchModel } from '../peers/ort-model';
import type { BenchPage } from '../lib/browser';
import { round } from '../lib/report';
import type { PeerSpeedOptions, PeerSpeedResult } from '../peers/types';

/** A peer's result, or why there is none (the bench goes on without it). */
export type PeerOutcome<R = PeerSpeedResult> = { ok: true; result: R } | { ok: false; reason: string };

/** The figures every engine reports (ours from its usage, peers from their own clocks). */
export interface RunFigures {
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  medianDecodeStepMs: number;
}

export const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** Runs page scenario `scenario` (a browser peer); an error becomes the outcome's reason. */
export async function runBrowserPeer(
  page: BenchPage,
  scenario: string,
  o: PeerSpeedOptions,
  log: (l: string) => void,
): Promise<PeerOutcome> {
  try {
    return { ok: true, result: await page.run<PeerSpeedResult>(scenario, o) };
  } catch (err) {
    log(`${scenario}: failed: ${message(err)}`);
    return { ok: false, reason: `${scenario} failed: ${message(err)}` };
  }
}

/** The onnxruntime-web peer's model URL (bench/peers/ort-model.ts: an ONNX export of the same weights under bench/.cache/), or why there is none. */
export function ortModelUrl(log: (l: string) => void): { url: string } | { reason: string } {
  try {
    return { url: ensureOrtBenchModel(log).url };
  } catch (err) {
    log(`onnxruntime-web: model export failed: ${message(err)}`);
    return { reason: `the ONNX export failed: ${message(err)}` };
  }
}

export function figures(r: RunFigures) {
  return {
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    timeToFirstTokenMs: round(r.timeToFirstTokenMs, 1),
    prefillTokensPerSecond: round(r.prefillTokensPerSecond, 2),
    decodeTokensPerSecond: round(r.decodeTokensPerSecond, 3),
    medianDecodeStepMs: round(r.medianDecodeStepMs, 1),
  };
}

/** Whether the peer's greedy ids are ours, and where they first differ. */
/** Whether a peer's greedy ids equal ours over the ids both generated (a peer may run a shorter workload). */
export function idsAgreement(ours: number[], peer: number[]) {
  const n = Math.min(ours.length, peer.length);
  let first = -1;
  for (let i = 0; i < n && first < 0; i++) if (ours[i] !== peer[i]) first = i;
  return { greedyIdsEqualOurs: first < 0 && n > 0, firstDifferenceAt: first < 0 ? null : first, compared: n };
}

/** ours / peer for each figure (above 1: ours is faster, except for the two times, where below 1 is). */
export function ratios(ours: RunFigures, peer: RunFigures) {
  return {
    prefillTokensPerSecond: round(ours.prefillTokensPerSecond / peer.prefillTokensPerSecond, 4),
    decodeTokensPerSecond: round(ours.decodeTokensPerSecond / peer.decodeTokensPerSecond, 4),
    timeToFirstTokenMs: round(ours.timeToFirstTokenMs / peer.timeToFirstTokenMs, 4),
    medianDecodeStepMs: round(ours.medianDecodeStepMs / peer.medianDecodeStepMs, 4),
  };
}
