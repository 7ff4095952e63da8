/**
 * The speed bench's peers, node side: running a browser peer's page scenario without letting its
 * failure end the bench, finding the onnxruntime-web peer's model (bench/peers/ort-model.ts, which
 * may not be there yet), and the figures, id agreement and ratios the results file gives each peer.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchPage } from '../lib/browser';
import { cacheDir } from '../lib/model';
import { round } from '../lib/report';
import { filesRoute } from '../lib/server';
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

/** A model file the ort helper names (a URL, or a path under bench/.cache/) as a URL on the bench server. */
function benchUrl(v: unknown): string | null {
  const o = (typeof v === 'string' ? { path: v } : (v ?? {})) as Record<string, unknown>;
  const url = o.modelUrl ?? o.url;
  if (typeof url === 'string') return url;
  const path = o.file ?? o.path ?? o.onnx ?? o.model;
  if (typeof path !== 'string') return null;
  const rel = relative(cacheDir, path);
  return isAbsolute(path) && !rel.startsWith('..') ? `${filesRoute}${rel.split('\\').join('/')}` : null;
}

/**
 * The onnxruntime-web peer's model URL: `ensureOrtBenchModel(log)` from bench/peers/ort-model.ts
 * (an ONNX export of the same weights under bench/.cache/), or why there is none.
 */
export async function ortModelUrl(log: (l: string) => void): Promise<{ url: string } | { reason: string }> {
  const spec = new URL('../peers/ort-model.ts', import.meta.url);
  if (!existsSync(fileURLToPath(spec))) return { reason: 'bench/peers/ort-model.ts is not on this branch yet: onnxruntime-web not run' };
  try {
    const mod = (await import(spec.href)) as { ensureOrtBenchModel?: (log: (l: string) => void) => unknown };
    if (typeof mod.ensureOrtBenchModel !== 'function') return { reason: 'bench/peers/ort-model.ts exports no ensureOrtBenchModel' };
    const model = await mod.ensureOrtBenchModel(log);
    const url = benchUrl(model);
    return url ? { url } : { reason: `ensureOrtBenchModel returned no model URL or path under bench/.cache/ (${JSON.stringify(model)})` };
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
export function idsAgreement(ours: number[], peer: number[]) {
  const n = Math.min(ours.length, peer.length);
  let first = -1;
  for (let i = 0; i < n && first < 0; i++) if (ours[i] !== peer[i]) first = i;
  if (first < 0 && ours.length !== peer.length) first = n;
  return { greedyIdsEqualOurs: first < 0, firstDifferenceAt: first < 0 ? null : first, compared: Math.max(ours.length, peer.length) };
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
