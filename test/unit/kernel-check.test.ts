/**
 * src/kernels/check.ts, the one home of kernel-argument checks: every failure is a
 * ShapeMismatchError whose message and details name the op, the tensor, expected and actual.
 */
import { describe, expect, test } from 'vitest';
import { ArgCheck, tensorBytes } from '../../src/kernels/check';
import { ShapeMismatchError } from '../../src/util/errors';
import { thrown } from '../helpers/thrown';

const c = new ArgCheck('rms_norm');

describe('ArgCheck', () => {
  test('tensorBytes counts elements of 4 bytes unless told', () => {
    expect(tensorBytes(5)).toBe(20);
    expect(tensorBytes(5, 2)).toBe(10);
  });

  test('positive and offsets name the argument, its rule and its value', () => {
    for (const v of [0, -1, 1.5, NaN]) {
      const err = thrown(() => c.positive({ rows: 2, cols: v }));
      expect(err).toBeInstanceOf(ShapeMismatchError);
      expect(err).toMatchObject({
        message: `rms_norm: cols: expected an integer >= 1, got ${v}`,
        details: { op: 'rms_norm', tensor: 'cols', expected: 'an integer >= 1', actual: v },
      });
    }
    expect(c.positive({ rows: 1, cols: 4096 })).toBe(c);
    expect(c.offsets({ xOffset: 0, yOffset: 7 })).toBe(c);
    expect(thrown(() => c.offsets({ xOffset: -4 }))).toMatchObject({ details: { op: 'rms_norm', tensor: 'xOffset', actual: -4 } });
  });

  test('fits compares a buffer with the bytes its elements need', () => {
    expect(c.fits('x', { size: 64 }, 16)).toBe(c);
    const err = thrown(() => c.fits('x', { size: 60 }, 16));
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect(err).toMatchObject({
      message: 'rms_norm: x bytes: expected >= 64, got 60',
      details: { op: 'rms_norm', tensor: 'x', quantity: 'bytes', expected: '>= 64', actual: 60 },
    });
    expect(thrown(() => c.fits('tokens', { size: 6 }, 4, 2))).toMatchObject({ details: { tensor: 'tokens', expected: '>= 8', actual: 6 } });
    expect(thrown(() => c.fits('x', { size: 60, label: 'layer3.xn' }, 16))).toMatchObject({
      message: 'rms_norm: x bytes: expected >= 64, got 60 (buffer "layer3.xn")',
      details: { tensor: 'x', label: 'layer3.xn' },
    });
  });

  test('distinct and sameOrDisjoint refuse aliasing the kernel cannot do', () => {
    const a = { size: 64 },
      b = { size: 64 };
    expect(c.distinct('out', a, 'x', b)).toBe(c);
    expect(thrown(() => c.distinct('out', a, 'x', a))).toMatchObject({ details: { op: 'rms_norm', tensor: 'out', actual: 'x' } });
    expect(c.sameOrDisjoint('y', a, 4, 'x', a, 4, 8)).toBe(c); // in place
    expect(c.sameOrDisjoint('y', a, 8, 'x', a, 0, 8)).toBe(c); // disjoint
    expect(c.sameOrDisjoint('y', b, 1, 'x', a, 0, 8)).toBe(c); // other buffer
    expect(thrown(() => c.sameOrDisjoint('y', a, 7, 'x', a, 0, 8))).toMatchObject({
      message: expect.stringMatching(/^rms_norm: y range: /),
      details: { tensor: 'y', quantity: 'range' },
    });
  });

  test('that reports the condition it was given', () => {
    expect(thrown(() => c.that(false, 'cols', 'an integer in [1, 8192]', 9000))).toMatchObject({
      message: 'rms_norm: cols: expected an integer in [1, 8192], got 9000',
      details: { expected: 'an integer in [1, 8192]', actual: 9000 },
    });
  });
});
