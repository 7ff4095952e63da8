/** Browser-test helpers for whole-engine tests. */
import { commands } from 'vitest/browser';

export { nmse } from './expect-close';

export const fixtureUrl = (name: string) => `/test/fixtures/models/${name}/`;

/** Fetches every file of a fixture folder as File objects (to build modified copies for bad-input tests). */
export async function fixtureFiles(name: string, files: string[]): Promise<File[]> {
  return Promise.all(
    files.map(async (f) => {
      const b64 = await commands.readFileBase64(`test/fixtures/models/${name}/${f}`);
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return new File([bytes], f);
    }),
  );
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
