import { expect } from 'vitest';
import { MemoryCodecError } from '../../src/util/errors';

/** `fn` throws a MemoryCodecError whose message contains every fragment. */
export function expectCodecError(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a MemoryCodecError').toBeInstanceOf(MemoryCodecError);
  for (const f of fragments) expect((err as Error).message).toContain(f);
}
