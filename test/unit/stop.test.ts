import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../src/sampling/stop';
import { InvalidOptionsError } from '../../src/util/errors';

/** Feeds deltas; returns everything emitted (flush included unless stopped) and whether it stopped. */
function run(stops: string[], deltas: string[]): { text: string; stopped: boolean; emits: string[] } {
  const m = new StopMatcher(stops);
  const emits: string[] = [];
  let stopped = false;
  for (const d of deltas) {
    const r = m.push(d);
    emits.push(r.emit);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  const text = emits.join('') + m.flush();
  return { text, stopped, emits };
}

describe('StopMatcher', () => {
  it('stops inside one delta and excludes the stop string and what follows', () => {
    expect(run(['###'], ['Hello ### world'])).toMatchObject({ text: 'Hello ', stopped: true });
  });

  it('finds a stop string split across deltas, holding back the partial prefix', () => {
    const r = run(['</answer>'], ['The answer is 4', '</an', 'swer>', 'ignored']);
    expect(r).toMatchObject({ text: 'The answer is 4', stopped: true });
    expect(r.emits).toEqual(['The answer is 4', '', '']);
  });

  it('releases held text when the prefix turns out not to be a stop', () => {
    const r = run(['STOP'], ['abc S', 'T', 'x', 'yz']);
    expect(r).toMatchObject({ text: 'abc STxyz', stopped: false });
    expect(r.emits).toEqual(['abc ', '', 'STx', 'yz']);
  });

  it('flush returns held text at the end of generation', () => {
    const m = new StopMatcher(['<|end|>']);
    expect(m.push('result <|e')).toEqual({ emit: 'result ', stopped: false });
    expect(m.flush()).toBe('<|e');
    expect(m.flush()).toBe('');
  });

  it('picks the earliest of several stop strings found in one delta', () => {
    expect(run(['three', 'o t', 'two'], ['one two three'])).toMatchObject({ text: 'one ', stopped: true });
  });

  it('stops at the first stop string completed when fed one character at a time', () => {
    // "bc" completes before "abcd" can, so generation ends there (as a stop criterion would).
    expect(run(['abcd', 'bc'], [...'xabcd'])).toMatchObject({ text: 'xa', stopped: true });
  });

  it('handles overlapping candidates (aab in aaab)', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b', 'c'])).toMatchObject({ text: 'a', stopped: true });
  });

  it('emits nothing after stopping', () => {
    const m = new StopMatcher(['x']);
    expect(m.push('ax')).toEqual({ emit: 'a', stopped: true });
    expect(m.push('more')).toEqual({ emit: '', stopped: true });
    expect(m.stopped).toBe(true);
    expect(m.flush()).toBe('');
  });

  it('with no stop strings passes text straight through', () => {
    expect(run([], ['a', 'b'])).toMatchObject({ text: 'ab', stopped: false, emits: ['a', 'b'] });
  });

  it('works with multi-byte stop strings', () => {
    expect(run(['😀!'], ['hi 😀', '!', 'x'])).toMatchObject({ text: 'hi ', stopped: true });
  });

  it('rejects empty or non-string stop strings', () => {
    expect(() => new StopMatcher([''])).toThrow(InvalidOptionsError);
    expect(() => new StopMatcher([3 as unknown as string])).toThrow(/stop\[0\]/);
    expect(() => new StopMatcher('x' as unknown as string[])).toThrow(InvalidOptionsError);
  });
});
