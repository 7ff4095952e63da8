/**
 * The tiny WGSL preprocessor: `//#include "name.wgsl"` splices a file from shaders/lib, and
 * `//#ifdef NAME` / `//#ifndef NAME` / `//#else` / `//#endif` keep or drop lines. Nothing else:
 * variants otherwise come from `override` constants (style.md rule 1).
 */
import { Memory3Error } from '../util/errors';

const libSources = import.meta.glob('../../shaders/lib/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

/** shaders/lib sources by file name ("f16.wgsl" → source). */
export const shaderLib: Record<string, string> = Object.fromEntries(
  Object.entries(libSources).map(([path, src]) => [path.slice(path.lastIndexOf('/') + 1), src]),
);

export function preprocessWgsl(source: string, defines: Iterable<string> = [], lib: Record<string, string> = shaderLib): string {
  const defined = new Set(defines);
  const out: string[] = [];
  const included = new Set<string>();
  const stack: { active: boolean; parentActive: boolean }[] = [];
  const expand = (src: string, file: string): void => {
    for (const line of src.split('\n')) {
      const t = line.trim();
      const active = stack.length === 0 || stack[stack.length - 1].active;
      let m: RegExpMatchArray | null;
      if ((m = t.match(/^\/\/#ifn?def\s+(\w+)/))) {
        const want = t.startsWith('//#ifdef');
        stack.push({ parentActive: active, active: active && defined.has(m[1]) === want });
      } else if (t.startsWith('//#else')) {
        const top = stack[stack.length - 1];
        if (!top) throw new Memory3Error(`WGSL preprocessor: #else without #ifdef in ${file}`);
        top.active = top.parentActive && !top.active;
      } else if (t.startsWith('//#endif')) {
        if (!stack.pop()) throw new Memory3Error(`WGSL preprocessor: #endif without #ifdef in ${file}`);
      } else if ((m = t.match(/^\/\/#include\s+"([^"]+)"/))) {
        if (!active || included.has(m[1])) continue;
        const inc = lib[m[1]];
        if (inc === undefined) throw new Memory3Error(`WGSL preprocessor: ${file} includes unknown "${m[1]}"`);
        included.add(m[1]);
        expand(inc, m[1]);
      } else if (active) {
        out.push(line);
      }
    }
  };
  expand(source, 'kernel');
  if (stack.length) throw new Memory3Error('WGSL preprocessor: unterminated #ifdef');
  return out.join('\n');
}
