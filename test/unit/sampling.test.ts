import { describe, expect, it } from 'vitest';
import { Sampler } from '../../src/sampling/sampler';
import { defaultSamplingOptions, type SamplingOptions, validateSamplingOptions } from '../../src/sampling/options';
import { InvalidOptionsError, Memory3Error, ShapeMismatchError } from '../../src/util/errors';
import { Prng } from '../../src/util/prng';

/** float64 softmax of plain numbers. */
function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function expectProbs(actual: Float32Array, expected: number[], atol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `p[${i}] = ${actual[i]}, expected ${expected[i]}`).toBeLessThanOrEqual(atol);
  }
}

describe('validateSamplingOptions', () => {
  const bad: [keyof SamplingOptions, unknown][] = [
    ['temperature', -0.1],
    ['temperature', Infinity],
    ['temperature', NaN],
    ['temperature', '1'],
    ['topK', -1],
    ['topK', 2.5],
    ['topP', 0],
    ['topP', 1.01],
    ['topP', NaN],
    ['minP', -0.01],
    ['minP', 1.5],
    ['repetitionPenalty', 0],
    ['repetitionPenalty', -1],
    ['repetitionWindow', -3],
    ['repetitionWindow', 1.5],
    ['seed', -1],
    ['seed', 0.5],
    ['seed', 2 ** 53],
  ];
  it.each(bad)('rejects %s = %s naming the option and its range', (key, value) => {
    const call = () => validateSamplingOptions({ [key]: value } as SamplingOptions);
    expect(call).toThrow(InvalidOptionsError);
    expect(call).toThrow(new RegExp(`^${key} must be .*, got`));
    try {
      call();
    } catch (err) {
      expect((err as InvalidOptionsError).details?.option).toBe(key);
    }
  });

  it('fills defaults and keeps given values', () => {
    expect(validateSamplingOptions({})).toEqual(defaultSamplingOptions);
    const r = validateSamplingOptions({ temperature: 0, topK: 5, topP: 0.9, minP: 0.1, seed: 7 });
    expect(r).toMatchObject({ temperature: 0, topK: 5, topP: 0.9, minP: 0.1, seed: 7, repetitionPenalty: 1 });
  });

  it('Sampler validates too, and checks the logits length', () => {
    expect(() => new Sampler({ topP: 2 }, 4)).toThrow(InvalidOptionsError);
    expect(() => new Sampler({}, 0)).toThrow(InvalidOptionsError);
    expect(() => new Sampler({ seed: 1 }, 4).sample(new Float32Array(5))).toThrow(ShapeMismatchError);
  });
});

describe('Sampler: each option against hand-computed cases', () => {
  const five = new Float32Array([1, 2, 3, 4, 5]);

  it('greedy (temperature 0) is argmax with the lowest id on ties', () => {
    const s = new Sampler({ temperature: 0 }, 4);
    expect(s.sample(new Float32Array([1, 3, 3, 2]))).toBe(1);
    expect(s.sample(new Float32Array([-5, -1, -2, -1]))).toBe(1);
    expectProbs(s.probabilities(new Float32Array([0, 0, 9, 9])), [0, 0, 1, 0]);
  });

  it('temperature 1 is the softmax; temperature 2 the softmax of logits / 2', () => {
    expectProbs(new Sampler({ seed: 1 }, 5).probabilities(five), softmax([1, 2, 3, 4, 5]));
    expectProbs(new Sampler({ temperature: 2, seed: 1 }, 5).probabilities(five), softmax([0.5, 1, 1.5, 2, 2.5]));
  });

  it('a tiny temperature behaves like greedy instead of overflowing', () => {
    expectProbs(new Sampler({ temperature: 1e-30, seed: 1 }, 5).probabilities(five), [0, 0, 0, 0, 1]);
  });

  it('top-k 2 over 5 logits leaves only the 2 largest possible', () => {
    const s = new Sampler({ topK: 2, seed: 3 }, 5);
    const [p4, p5] = softmax([4, 5]);
    expectProbs(s.probabilities(five), [0, 0, 0, p4, p5]);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(s.sample(five));
    expect([...seen].sort()).toEqual([3, 4]);
  });

  it('top-k prefers the lower id among equal logits', () => {
    const s = new Sampler({ topK: 2, seed: 3 }, 5);
    expectProbs(s.probabilities(new Float32Array([7, 1, 7, 7, 0])), [0.5, 0, 0.5, 0, 0]);
  });

  // probabilities 0.5, 0.3, 0.15, 0.05
  const quad = new Float32Array([0.5, 0.3, 0.15, 0.05].map(Math.log));
  it.each([
    [0.4, [1, 0, 0, 0]],
    [0.7, [0.5 / 0.8, 0.3 / 0.8, 0, 0]],
    [0.85, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]],
    [0.97, [0.5, 0.3, 0.15, 0.05]],
  ])('top-p %s keeps the smallest set reaching that mass', (topP, expected) => {
    expectProbs(new Sampler({ topP, seed: 1 }, 4).probabilities(quad), expected);
  });

  it.each([
    [0.2, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]],
    [0.5, [0.5 / 0.8, 0.3 / 0.8, 0, 0]],
    [0.7, [1, 0, 0, 0]],
  ])('min-p %s drops tokens below min-p times the top probability', (minP, expected) => {
    expectProbs(new Sampler({ minP, seed: 1 }, 4).probabilities(quad), expected);
  });

  it('repetition penalty divides positive logits and changes the argmax', () => {
    const logits = new Float32Array([2, 1.8, -1, 0.5]);
    expect(new Sampler({ temperature: 0 }, 4).sample(logits, [0])).toBe(0);
    expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5 }, 4).sample(logits, [0])).toBe(1);
    // Repeated ids are penalized once: 2 / 1.5, not 2 / 1.5³.
    const p = new Sampler({ repetitionPenalty: 1.5, seed: 1 }, 4).probabilities(logits, [0, 0, 0]);
    expectProbs(p, softmax([2 / 1.5, 1.8, -1, 0.5]));
  });

  it('repetition penalty multiplies negative logits', () => {
    const logits = new Float32Array([-0.5, -0.6, -3]);
    expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5 }, 3).sample(logits, [0])).toBe(1);
  });

  it('repetition window limits which history ids are penalized; 0 means all', () => {
    const logits = new Float32Array([2, 1.8, -1, 0.5]);
    const history = [0, 3, 3, 3];
    expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5, repetitionWindow: 2 }, 4).sample(logits, history)).toBe(0);
    expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5, repetitionWindow: 4 }, 4).sample(logits, history)).toBe(1);
    expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5, repetitionWindow: 0 }, 4).sample(logits, history)).toBe(1);
    expect(() => new Sampler({ repetitionPenalty: 1.5 }, 4).sample(logits, [9])).toThrow(InvalidOptionsError);
  });

  it('throws on NaN or on logits with no finite maximum', () => {
    const s = new Sampler({ seed: 1 }, 3);
    expect(() => s.sample(new Float32Array([0, NaN, 1]))).toThrow(/logits\[1\] is NaN/);
    expect(() => s.sample(new Float32Array([-Infinity, -Infinity, -Infinity]))).toThrow(Memory3Error);
    expect(() => new Sampler({ temperature: 0 }, 3).sample(new Float32Array([0, NaN, 1]))).toThrow(Memory3Error);
  });
});

describe('Sampler: determinism and distribution', () => {
  const logits = new Float32Array([0.3, -1.2, 2.0, 0.0, 1.1, -0.4]);

  function draws(opts: SamplingOptions, n: number, row = logits): number[] {
    const s = new Sampler(opts, row.length);
    return Array.from({ length: n }, () => s.sample(row));
  }

  it('the same seed gives the same sequence; another seed a different one', () => {
    const a = draws({ seed: 1234 }, 200);
    expect(draws({ seed: 1234 }, 200)).toEqual(a);
    expect(draws({ seed: 1235 }, 200)).not.toEqual(a);
  });

  it('without a seed it picks one and reports it, which replays the sequence', () => {
    const s = new Sampler({}, logits.length);
    const first = Array.from({ length: 50 }, () => s.sample(logits));
    expect(draws({ seed: s.seed }, 50)).toEqual(first);
  });

  /** Pearson chi-square of counts against probabilities (cells with p = 0 must be empty). */
  function chiSquare(counts: number[], probs: ArrayLike<number>, n: number): number {
    let chi = 0;
    for (let i = 0; i < counts.length; i++) {
      if (probs[i] === 0) expect(counts[i], `token ${i} has probability 0`).toBe(0);
      else chi += (counts[i] - n * probs[i]) ** 2 / (n * probs[i]);
    }
    return chi;
  }

  // 99.9% quantiles of chi-square: 5 dof 20.52, 2 dof 13.82.
  it.each([
    [{ seed: 99 } as SamplingOptions, 20.52],
    [{ seed: 7, temperature: 0.7, topK: 4, topP: 0.9 } as SamplingOptions, 13.82],
  ])('20k draws with %o match probabilities() (chi-square)', (opts, critical) => {
    const n = 20000;
    const counts = new Array(logits.length).fill(0);
    for (const id of draws(opts, n)) counts[id]++;
    const probs = new Sampler(opts, logits.length).probabilities(logits);
    if (opts.temperature === undefined) expectProbs(probs, softmax(Array.from(logits)));
    const support = Array.from(probs).filter((p) => p > 0).length;
    expect(support).toBe(opts.topK ? 3 : 6);
    expect(chiSquare(counts, probs, n)).toBeLessThan(critical);
  });
});

/** Straightforward float64 reference: HF's processor chain, sorting the whole vocabulary. */
function referenceProbs(logits: Float32Array, opts: Required<Omit<SamplingOptions, 'seed'>>, history: number[]): number[] {
  const x = Array.from(logits);
  const start = opts.repetitionWindow === 0 ? 0 : Math.max(0, history.length - opts.repetitionWindow);
  for (const id of new Set(history.slice(start))) {
    x[id] = logits[id] > 0 ? logits[id] / opts.repetitionPenalty : logits[id] * opts.repetitionPenalty;
  }
  let p = softmax(x.map((v) => v / opts.temperature));
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  const keep = (ids: number[]) => {
    const z = ids.reduce((a, i) => a + p[i], 0);
    const q = new Array(p.length).fill(0);
    for (const i of ids) q[i] = p[i] / z;
    p = q;
  };
  let live = order;
  if (opts.topK > 0) keep((live = live.slice(0, opts.topK)));
  if (opts.topP < 1) {
    let before = 0;
    keep(
      (live = live.filter((i) => {
        const ok = before < opts.topP;
        before += p[i];
        return ok;
      })),
    );
  }
  const pMax = p[live[0]];
  keep(live.filter((i) => p[i] >= opts.minP * pMax));
  return p;
}

describe('Sampler matches a full-sort reference over a larger vocabulary', () => {
  const rng = new Prng(2024);
  const vocab = 1000;
  const cases = Array.from({ length: 24 }, (_, c) => ({
    temperature: [0.5, 1, 1.7][c % 3],
    topK: [0, 0, 40, 700][c % 4],
    topP: [1, 0.9, 0.5, 0.999][(c >> 1) % 4],
    minP: [0, 0.05][(c >> 2) % 2],
    repetitionPenalty: [1, 1.3][(c >> 3) % 2],
    repetitionWindow: 16,
    // Flat rows (scale 0.5) put the top-p boundary among many near-equal logits.
    scale: [0.5, 4][c % 2],
  }));
  it.each(cases)('case %#: %o', ({ scale, ...opts }) => {
    const logits = new Float32Array(vocab);
    for (let i = 0; i < vocab; i++) logits[i] = (rng.nextFloat() * 2 - 1) * scale * 3;
    const history = Array.from({ length: 30 }, () => rng.nextUint32() % vocab);
    const got = new Sampler({ ...opts, seed: 5 }, vocab).probabilities(logits, history);
    const want = referenceProbs(logits, opts, history);
    let worst = 0;
    for (let i = 0; i < vocab; i++) {
      expect(got[i] === 0, `support differs at ${i}`).toBe(want[i] === 0);
      worst = Math.max(worst, Math.abs(got[i] - want[i]) - 1e-5 * want[i]);
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});

describe('Sampler top-p over the whole vocabulary', () => {
  it('keeps exactly the full-sort nucleus when it spans many logit bins', () => {
    // One token 9 above a flat sea of 999: it holds ~87% of the mass, so top-p 0.95 needs the sea.
    const rng = new Prng(77);
    const vocab = 1000;
    const logits = new Float32Array(vocab);
    for (let i = 1; i < vocab; i++) logits[i] = rng.nextFloat() * 2 - 1;
    logits[0] = 9;
    const opts = { temperature: 1, topK: 0, topP: 0.95, minP: 0, repetitionPenalty: 1, repetitionWindow: 0 };
    const got = new Sampler({ ...opts, seed: 1 }, vocab).probabilities(logits);
    const want = referenceProbs(logits, opts, []);
    const support = want.filter((p) => p > 0).length;
    expect(support).toBeGreaterThan(100);
    expect(support).toBeLessThan(vocab);
    for (let i = 0; i < vocab; i++) {
      expect(got[i] === 0, `support differs at ${i}`).toBe(want[i] === 0);
      expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-6 + 1e-5 * want[i]);
    }
  });
});
