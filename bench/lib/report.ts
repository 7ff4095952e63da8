/** Facts and output shared by bench scenarios: machine, git commit, rounding, the results file. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { repoRoot } from '../../tools/fixtures/writeFixtures';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** HEAD, and whether the engine's own sources (src/, shaders/) differ from it. */
export function gitFacts(): { commit: string; engineSourcesDirty: boolean } {
  return {
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    engineSourcesDirty: git(['status', '--porcelain', '--', 'src', 'shaders']) !== '',
  };
}

export function machineFacts(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuCount: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    loadAverage1mAtStart: round(loadavg()[0], 2),
  };
}

/** Rounds to `digits` decimals (figures in results stay numbers). */
export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Three significant digits at most, never in exponent form: 1234 → "1234", 12.345 → "12.3", 0.4567 → "0.457". */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toFixed(digits);
}

/** Writes `value` as JSON to `path` (absolute, or relative to the repo root) and returns the repo-relative path. */
export function writeResults(path: string, value: unknown): string {
  const full = resolve(repoRoot, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, `${JSON.stringify(value, null, 2)}\n`);
  return relative(repoRoot, full);
}

/** A plain-text table: the first row is the header; columns after the first are right-aligned. */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}
