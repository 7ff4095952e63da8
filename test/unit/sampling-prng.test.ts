import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/util/prng';

describe('Prng (xoshiro128** seeded by SplitMix64)', () => {
  // Outputs of the authors' reference C code (prng.di.unimi.it xoshiro128starstar.c, state from
  // two splitmix64.c outputs: s[0] = low 32 bits of the first, s[1] = its high bits, s[2], s[3] likewise).
  const known: [number, number[]][] = [
    [0, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962, 1625202774]],
    [42, [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222]],
    [2 ** 53 - 1, [1233166643, 1287031142, 661813442, 2960669951, 2601079046, 1036114921]],
  ];
  it.each(known)('seed %s reproduces the reference C outputs', (seed, outputs) => {
    const prng = new Prng(seed);
    expect(outputs.map(() => prng.nextUint32())).toEqual(outputs);
  });

  it('nextFloat is in [0, 1), uniform by decile, and repeatable', () => {
    const a = new Prng(9);
    const b = new Prng(9);
    const bins = new Array(10).fill(0);
    const n = 100000;
    let differing = 0;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const x = a.nextFloat();
      if (x !== b.nextFloat()) differing++;
      if (!(x >= 0 && x < 1)) outOfRange++;
      else bins[Math.floor(x * 10)]++;
    }
    expect({ differing, outOfRange }).toEqual({ differing: 0, outOfRange: 0 });
    // Chi-square, 9 dof, 99.9% quantile 27.88.
    const chi = bins.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi).toBeLessThan(27.88);
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    for (const seed of [-1, 1.5, 2 ** 53, NaN]) expect(() => new Prng(seed)).toThrow(RangeError);
  });
});
