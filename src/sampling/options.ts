/**
 * Sampling options, their defaults and their validation. Names follow the OpenAI / llama.cpp
 * meaning of each knob; the order they apply in is in sampler.ts.
 */
import { InvalidOptionsError } from '../util/errors';

export interface SamplingOptions {
  /** Softmax temperature, ≥ 0. 0 = greedy (argmax, lowest id on ties). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; integer ≥ 0, 0 = off. Default 0. */
  topK?: number;
  /** Nucleus: keep the smallest set of most likely tokens whose mass reaches p; (0, 1], 1 = off. Default 1. */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability; [0, 1], 0 = off. Default 0. */
  minP?: number;
  /** HF-style penalty on tokens in the recent history: positive logits ÷ it, negative × it; > 0, 1 = off. Default 1. */
  repetitionPenalty?: number;
  /** How many most recent history tokens the penalty looks at; integer ≥ 0, 0 = the whole history. Default 64. */
  repetitionWindow?: number;
  /** PRNG seed, integer in [0, 2^53 − 1]. Default: a random seed per Sampler. */
  seed?: number;
}

export type ResolvedSamplingOptions = Required<Omit<SamplingOptions, 'seed'>> & { seed: number | undefined };

export const defaultSamplingOptions: Readonly<ResolvedSamplingOptions> = Object.freeze({
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  repetitionWindow: 64,
  seed: undefined,
});

interface Rule {
  check: (v: number) => boolean;
  range: string;
}

const isNonNegInt = (v: number) => Number.isSafeInteger(v) && v >= 0;

const rules: Record<keyof SamplingOptions, Rule> = {
  temperature: { check: (v) => Number.isFinite(v) && v >= 0, range: 'a finite number ≥ 0 (0 = greedy)' },
  topK: { check: isNonNegInt, range: 'an integer ≥ 0 (0 = off)' },
  topP: { check: (v) => v > 0 && v <= 1, range: 'a number in (0, 1]' },
  minP: { check: (v) => v >= 0 && v <= 1, range: 'a number in [0, 1]' },
  repetitionPenalty: { check: (v) => Number.isFinite(v) && v > 0, range: 'a finite number > 0 (1 = off)' },
  repetitionWindow: { check: isNonNegInt, range: 'an integer ≥ 0 (0 = whole history)' },
  seed: { check: isNonNegInt, range: 'an integer in [0, 2^53 - 1]' },
};

/**
 * Checks every option that is present and returns them with defaults filled in.
 * Throws InvalidOptionsError naming the option, its allowed range and the value found.
 * Keys it does not know are ignored (callers pass wider generation options).
 */
export function validateSamplingOptions(options: SamplingOptions = {}): ResolvedSamplingOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError(`sampling options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(rules) as (keyof SamplingOptions)[]) {
    const value: unknown = options[key];
    if (value === undefined) continue;
    const rule = rules[key];
    if (typeof value !== 'number' || !rule.check(value)) {
      throw new InvalidOptionsError(`${key} must be ${rule.range}, got ${String(value)}`, {
        option: key,
        expected: rule.range,
        actual: typeof value === 'number' ? value : String(value),
      });
    }
  }
  const resolved = { ...defaultSamplingOptions };
  for (const key of Object.keys(rules) as (keyof SamplingOptions)[]) {
    if (options[key] !== undefined) (resolved as Record<string, unknown>)[key] = options[key];
  }
  return resolved;
}
