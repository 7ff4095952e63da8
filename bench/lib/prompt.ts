/** The bench prompt: fixed token ids drawn from the fixtures' seeded PRNG over ordinary (non-special) tokens. */
import { Prng } from '../../tools/fixtures/prng';
import { specialTokens, vocabSize } from '../../tools/fixtures/tokenizer';

export const promptSeed = 2024;

/** `length` ids in [0, first special id): the same ids for every run and both engines. */
export function benchPrompt(length: number): number[] {
  const rng = new Prng(promptSeed);
  const regular = vocabSize - specialTokens.length;
  return Array.from({ length }, () => Math.floor(rng.uniform() * regular));
}
