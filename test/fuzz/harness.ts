/**
 * Hostile-input fuzzing (fast-check): every input must end in a correct load or a named error
 * (a Memory3Error subclass) within a time bound; never another exception, a hang or a crash.
 * Each fuzz file tallies its cases; `npm run test:reliability` adds the tallies up.
 */
import fc from 'fast-check';
import { Memory3Error } from '../../src/util/errors';

/** Fixed seed (reproducible in CI); FUZZ_SEED / FUZZ_SCALE in the environment vary and grow a run (Node files). */
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
export const fuzzSeed = Number(env.FUZZ_SEED ?? 14);
export const fuzzScale = Number(env.FUZZ_SCALE ?? 1);
/** Per input: generous for loaded CI machines, far below what a hang or a runaway allocation takes. */
export const caseLimitMs = 2000;

export interface FuzzTally {
  name: string;
  cases: number;
  accepted: number;
  refused: Record<string, number>;
  slowestMs: number;
}

export const tally = (name: string): FuzzTally => ({ name, cases: 0, accepted: 0, refused: {}, slowestMs: 0 });

/** Runs one hostile input: returns its result, or null after a named error; anything else fails the property. */
export async function hostile<T>(t: FuzzTally, run: () => T | Promise<T>): Promise<T | null> {
  const t0 = performance.now();
  t.cases++;
  try {
    const out = await run();
    t.accepted++;
    return out;
  } catch (err) {
    if (!(err instanceof Memory3Error))
      throw new Error(`unnamed failure ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
    t.refused[err.name] = (t.refused[err.name] ?? 0) + 1;
    return null;
  } finally {
    const ms = performance.now() - t0;
    t.slowestMs = Math.max(t.slowestMs, ms);
    // biome-ignore lint/correctness/noUnsafeFinally: an input over the time limit fails the run whatever it ended in
    if (ms > caseLimitMs) throw new Error(`one input took ${ms.toFixed(0)} ms (limit ${caseLimitMs})`);
  }
}

/** Byte-level mutations of a valid file: flips, overwrites, a cut, an insertion. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let b = valid.slice();
    for (const e of edits) {
      const at = b.length ? e.at % b.length : 0;
      if (e.kind === 'set' && b.length) b[at] = e.value;
      else if (e.kind === 'flip' && b.length) b[at] ^= 1 << e.bit;
      else if (e.kind === 'cut') b = b.slice(0, at);
      else if (e.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...e.bytes, ...b.subarray(at)]);
    }
    return b;
  });
}

/** Values a hostile JSON file puts where a number, string or object belongs. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, -1e308, '', 'F64', [], {}, null, true),
);

/** Replaces, deletes or adds fields of a JSON object (paths one or two levels deep). */
export function mutatedObject(valid: Record<string, unknown>, extraKeys: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...Object.keys(valid), ...extraKeys];
  const edit = fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom('set', 'delete', 'nested'),
    value: hostileValue,
    inner: fc.string({ maxLength: 12 }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const out = structuredClone(valid);
    for (const e of edits) {
      if (e.op === 'delete') delete out[e.key];
      else if (e.op === 'set') out[e.key] = structuredClone(e.value);
      else if (typeof out[e.key] === 'object' && out[e.key] !== null) {
        const inner = out[e.key] as Record<string, unknown>;
        const innerKeys = Object.keys(inner);
        inner[innerKeys.length ? innerKeys[e.inner.length % innerKeys.length] : e.inner] = structuredClone(e.value);
      }
    }
    return out;
  });
}
