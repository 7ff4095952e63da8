/**
 * The house as docs/architecture.md writes it down: imports follow its layer table (a folder of
 * src/ imports its own files and the folders in its "May import" column, and those sit on lower
 * layers), the table lists every folder of src/, and the names its two paths mention are where it
 * says. And no module reaches itself through its imports: within a layer as across layers, src/ and
 * bench/ have no import cycle (type-only imports count: a cycle of types is still two modules that
 * cannot be read one after the other).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(__dirname, '../..');
const src = join(root, 'src');
const architecture = readFileSync(join(root, 'docs/architecture.md'), 'utf8');

interface Layer {
  level: number;
  mayImport: string[];
}

/** The layer table of docs/architecture.md: `| level | \`src/x\` | holds | \`a\`, \`b\` or nothing |` per row. */
function layerTable(markdown: string): Map<string, Layer> {
  const table = new Map<string, Layer>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const m = /^`src\/([\w.]+)`$/.exec(cells[2] ?? '');
    if (!/^\d+$/.test(cells[1] ?? '') || !m) continue;
    const name = m[1] === 'index.ts' ? 'index' : m[1];
    const mayImport = cells[4] === 'nothing' ? [] : [...cells[4].matchAll(/`(\w+)`/g)].map((x) => x[1]);
    table.set(name, { level: Number(cells[1]), mayImport });
  }
  return table;
}
const layers = layerTable(architecture);

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
    const targets = specifiers(readFileSync(file, 'utf8'))
      .map((s) => resolveModule(file, s))
      .filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one module, or one that imports itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    stack: string[] = [],
    onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) out.push(scc.map((f) => relative(root, f)).sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

test('the layer table lists every folder of src/ and only lets imports point down', () => {
  const entries = readdirSync(src)
    .filter((f) => statSync(join(src, f)).isDirectory() || f.endsWith('.ts'))
    .map((f) => (f === 'index.ts' ? 'index' : f));
  expect([...layers.keys()].sort()).toEqual(entries.sort());
  const upward = [...layers].flatMap(([name, l]) =>
    l.mayImport.filter((t) => !layers.has(t) || layers.get(t)!.level >= l.level).map((t) => `${name} may import ${t}`),
  );
  expect(upward).toEqual([]);
  expect(layers.get('util')!.mayImport).toEqual([]);
});

test('src/ imports follow the layer table', () => {
  const violations: string[] = [];
  const all = files(src);
  expect(all.length).toBeGreaterThan(10);
  for (const file of all) {
    const from = layerOf(file)!;
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = layerOf(resolve(dirname(file), spec));
      if (!target || target === from) continue;
      if (!layers.get(from)?.mayImport.includes(target)) violations.push(`${relative(src, file)} (${from}) → ${spec} (${target})`);
    }
  }
  expect(violations).toEqual([]);
});

test('the paths in docs/architecture.md name what is there', () => {
  const named = [...architecture.matchAll(/`([\w.]+)` in `([\w/.-]+)`/g)];
  expect(named.length).toBeGreaterThan(10);
  const missing = named
    .filter(([, symbol, path]) => {
      const file = join(root, path);
      const word = symbol.split('.').pop()!;
      return !existsSync(file) || !new RegExp(`\\b${word}\\b`).test(readFileSync(file, 'utf8'));
    })
    .map(([m]) => m);
  const paths = [...architecture.matchAll(/`((?:src|test|shaders|bench|docs)\/[\w/.-]+\.\w+)`/g)].map((m) => m[1]);
  expect(paths.length).toBeGreaterThan(10);
  // In the two paths, `Class.member` names a member of a class in src/, and a bare `name` is in src/.
  const prose = architecture.slice(architecture.indexOf('## One token'));
  const sources = files(src).map((f) => readFileSync(f, 'utf8'));
  const has = (text: string, word: string) => new RegExp(`\\b${word}\\b`).test(text);
  const unknown = [...prose.matchAll(/`([A-Za-z]\w*)(?:\.(\w+))?`/g)]
    .filter(([, name, member]) =>
      member ? !sources.some((t) => has(t, `class ${name}`) && has(t, member)) : !sources.some((t) => has(t, name)),
    )
    .map(([m]) => m);
  expect([...missing, ...paths.filter((p) => !existsSync(join(root, p))), ...unknown]).toEqual([]);
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
  const a = join(src, 'engine/a.ts'),
    b = join(src, 'engine/b.ts'),
    c = join(src, 'engine/c.ts');
  const graph = new Map([
    [a, [b]],
    [b, [c]],
    [c, [a]],
    [join(src, 'util/d.ts'), []],
  ]);
  expect(cycles(graph)).toEqual([['src/engine/a.ts', 'src/engine/b.ts', 'src/engine/c.ts']]);
  expect(cycles(new Map([[a, [a]]]))).toEqual([['src/engine/a.ts']]);
  expect(
    cycles(
      new Map([
        [a, [b]],
        [b, []],
      ]),
    ),
  ).toEqual([]);
});
