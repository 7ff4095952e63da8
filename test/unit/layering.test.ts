/**
 * Imports point one way (style.md): util ← gpu ← kernels ← model ← engine ← worker ← api ← apps;
 * memory, tokenizer and sampling sit beside model and only engine (and above) import them; memory
 * builds on model and tokenizer (the writer runs the model's forward, references are cut on tokens).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const src = resolve(__dirname, '../../src');
const rank: Record<string, number> = { util: 0, gpu: 1, kernels: 2, model: 3, memory: 3, tokenizer: 3, sampling: 3, engine: 4, worker: 5, api: 6, apps: 7 };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(path: string): string | null {
  const rel = relative(src, path);
  if (rel.startsWith('..')) return null;
  const top = rel.split(/[\\/]/)[0];
  return top.endsWith('.ts') ? 'index' : top;
}

test('src/ imports follow the layer order', () => {
  const violations: string[] = [];
  const all = files(src);
  expect(all.length).toBeGreaterThan(10);
  for (const file of all) {
    const from = layerOf(file)!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = layerOf(resolve(dirname(file), m[1]));
      if (!target || target === from) continue;
      if (from === 'index') { if (target !== 'api') violations.push(`${relative(src, file)} → ${m[1]} (index re-exports api only)`); continue; }
      if (from === 'apps') { if (target !== 'index') violations.push(`${relative(src, file)} → ${m[1]} (apps import only src/index.ts)`); continue; }
      if (target === 'index' || target === 'apps') { violations.push(`${relative(src, file)} → ${m[1]}`); continue; }
      const sideways = ['memory', 'tokenizer', 'sampling'];
      const memoryUses = from === 'memory' && (target === 'model' || target === 'tokenizer');
      const ok = memoryUses || (rank[target] < rank[from] && !(sideways.includes(target) && rank[from] <= 3));
      if (!ok) violations.push(`${relative(src, file)} (${from}) → ${m[1]} (${target})`);
    }
  }
  expect(violations).toEqual([]);
});
