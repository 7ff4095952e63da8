/**
 * The op quartet keeps one name (style.md): shaders/kernels/x.wgsl is imported by src/kernels/x.ts
 * (or, for an op of several dispatches, x = <module>_<part> as in memory_select_topk.wgsl), whose
 * float64 reference is test/reference/<module>.ts and whose test is test/kernels/<module>.test.ts;
 * a pipeline key literal names the shader it compiles.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(__dirname, '../..');
const shaders = readdirSync(join(root, 'shaders/kernels'))
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => basename(f, '.wgsl'));
const modules = readdirSync(join(root, 'src/kernels'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => basename(f, '.ts'));
const source = (m: string) => readFileSync(join(root, 'src/kernels', `${m}.ts`), 'utf8');
const imported = (m: string) => [...source(m).matchAll(/shaders\/kernels\/(\w+)\.wgsl\?raw/g)].map((x) => x[1]);

/** The module a shader belongs to: its own name, else the longest `_`-prefix of it that is a module. */
function ownerOf(shader: string): string | null {
  const parts = shader.split('_');
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join('_');
    if (modules.includes(name)) return name;
  }
  return null;
}

test('every kernel shader has a TS module of its name that imports it', () => {
  expect(shaders.length).toBeGreaterThan(10);
  const problems = shaders.flatMap((s) => {
    const owner = ownerOf(s);
    if (!owner) return [`${s}.wgsl: no src/kernels/${s}.ts (nor a module its name starts with)`];
    return imported(owner).includes(s) ? [] : [`${s}.wgsl: src/kernels/${owner}.ts does not import it`];
  });
  expect(problems).toEqual([]);
});

test('a module imports only shaders of its own name', () => {
  const problems = modules.flatMap((m) =>
    imported(m)
      .filter((s) => ownerOf(s) !== m)
      .map((s) => `src/kernels/${m}.ts imports ${s}.wgsl`),
  );
  expect(problems).toEqual([]);
});

test('every kernel module has a reference and a test of its name', () => {
  const kernels = modules.filter((m) => imported(m).length > 0);
  expect(kernels).toContain('rms_norm');
  const problems = kernels.flatMap((m) => [
    ...(existsSync(join(root, 'test/reference', `${m}.ts`)) ? [] : [`test/reference/${m}.ts is missing`]),
    ...(existsSync(join(root, 'test/kernels', `${m}.test.ts`)) ? [] : [`test/kernels/${m}.test.ts is missing`]),
  ]);
  expect(problems).toEqual([]);
});

test('pipeline keys name the shader they compile', () => {
  const problems = modules.flatMap((m) =>
    [...source(m).matchAll(/key: `(\w+)\./g)]
      .map((k) => k[1])
      .filter((op) => !imported(m).includes(op))
      .map((op) => `src/kernels/${m}.ts: key ${op}.* names no shader it imports`),
  );
  expect(problems).toEqual([]);
});
