/**
 * Imports point one way (style.md): util ← gpu ← kernels ← model ← engine ← worker ← api ← apps;
 * memory, tokenizer and sampling sit beside model and only engine (and above) import them; memory
 * builds on model and tokenizer (the writer runs the model's forward, references are cut on tokens).
 * And no module reaches itself through its imports: within a layer as across layers, src/ and
 * bench/ have no import cycle (type-only imports count: a cycle of types is still two modules that
 * cannot be read one after the other).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(__dirname, '../..');
const src = join(root, 'src');
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

/** Relative specifiers a file imports: `import … from`, `export … from`, `import '…'`, `import('…')`. */
function specifiers(text: string): string[] {
  const found = [
    ...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/(?:^|[\s;])import\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]);
}

/** The .ts module a specifier names, or null for other files (`?raw` shaders, JSON, CSS). */
function resolveModule(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec.replace(/\?.*$/, ''));
  for (const p of [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')]) {
    if (p.endsWith('.ts') && existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** The module graph of `dirs`: each .ts file and the .ts files it imports. */
function importGraph(dirs: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap(files)) {
    const targets = specifiers(readFileSync(file, 'utf8')).map((s) => resolveModule(file, s)).filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one module, or one that imports itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) out.push(scc.map((f) => relative(root, f)).sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

test('src/ imports follow the layer order', () => {
  const violations: string[] = [];
  const all = files(src);
  expect(all.length).toBeGreaterThan(10);
  for (const file of all) {
    const from = layerOf(file)!;
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = layerOf(resolve(dirname(file), spec));
      if (!target || target === from) continue;
      if (from === 'index') { if (target !== 'api') violations.push(`${relative(src, file)} → ${spec} (index re-exports api only)`); continue; }
      if (from === 'apps') { if (target !== 'index') violations.push(`${relative(src, file)} → ${spec} (apps import only src/index.ts)`); continue; }
      if (target === 'index' || target === 'apps') { violations.push(`${relative(src, file)} → ${spec}`); continue; }
      const sideways = ['memory', 'tokenizer', 'sampling'];
      const memoryUses = from === 'memory' && (target === 'model' || target === 'tokenizer');
      const ok = memoryUses || (rank[target] < rank[from] && !(sideways.includes(target) && rank[from] <= 3));
      if (!ok) violations.push(`${relative(src, file)} (${from}) → ${spec} (${target})`);
    }
  }
  expect(violations).toEqual([]);
});

test('src/ and bench/ have no import cycle', () => {
  const graph = importGraph([src, join(root, 'bench')]);
  expect(graph.size).toBeGreaterThan(50);
  // The graph is real: the engine reaches the model loop and the kernels through it.
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  expect(edges).toBeGreaterThan(graph.size);
  expect(cycles(graph)).toEqual([]);
});

test('the cycle check finds a cycle within a layer', () => {
  const a = join(src, 'engine/a.ts'), b = join(src, 'engine/b.ts'), c = join(src, 'engine/c.ts');
  const graph = new Map([[a, [b]], [b, [c]], [c, [a]], [join(src, 'util/d.ts'), []]]);
  expect(cycles(graph)).toEqual([['src/engine/a.ts', 'src/engine/b.ts', 'src/engine/c.ts']]);
  expect(cycles(new Map([[a, [a]]]))).toEqual([['src/engine/a.ts']]);
  expect(cycles(new Map([[a, [b]], [b, []]]))).toEqual([]);
});
