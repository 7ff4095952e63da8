/** Every kernel's TS Params declaration matches the `struct Params` in its .wgsl (style.md rule 4). */
import { expect, test } from 'vitest';
import { parseWgslParams, type ParamsLayout } from '../../src/gpu/params';
import { preprocessWgsl } from '../../src/gpu/shader';

const modules = import.meta.glob('../../src/kernels/*.ts', { eager: true }) as Record<string, Record<string, unknown>>;

interface KernelDecl {
  source: string;
  params: ParamsLayout;
  defines?: string[];
}

const decls = Object.entries(modules).flatMap(([file, mod]) =>
  Object.entries(mod)
    .filter(([name, v]) => name.endsWith('Kernel') && typeof v === 'object' && v !== null && 'source' in v && 'params' in v)
    .map(([name, v]) => ({ file, name, decl: v as KernelDecl })),
);

test('kernel modules declare their Params', () => {
  expect(decls.length).toBeGreaterThan(0);
});

for (const { file, name, decl } of decls) {
  test(`${file}: ${name} Params match WGSL`, () => {
    const wgsl = parseWgslParams(preprocessWgsl(decl.source)); // a struct may come from a shaders/lib include
    expect(wgsl.length).toBeGreaterThan(0);
    expect(decl.params.fields.map(([n, t]) => [n, t])).toEqual(wgsl);
  });
}
