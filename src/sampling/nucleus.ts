/**
 * Top-p (nucleus) over a whole vocabulary without sorting it. Logits are binned by their distance
 * below the maximum; the bins' masses, summed from the top, locate the one bin where the nucleus
 * ends. Tokens in higher bins are all kept (in id order: the draw does not need them sorted); only
 * the boundary bin is sorted (descending logit, ascending id), so the kept set is exactly the one a
 * full sort would keep. O(vocab) per token instead of O(vocab log vocab).
 */

/** Bins span this many logit units below the maximum; anything lower falls in the last bin. */
const binSpan = 32;
const binCount = 1024;

export class NucleusScratch {
  readonly binMass = new Float64Array(binCount); // (bins) sum of exp(logit) per bin
}

function binOf(x: number): number {
  const b = Math.floor((-x * binCount) / binSpan);
  return b < binCount ? b : binCount - 1;
}

/**
 * `work`: temperature-scaled logits whose maximum is 0. Writes the kept ids to order[0..n) and
 * returns n ≥ 1. Keeps, in descending order, each token whose predecessors' mass is below
 * topP · (total mass), and drops tokens below `minLogit` (min-p).
 */
export function nucleusOverVocab(work: Float32Array, order: Int32Array, scratch: NucleusScratch, topP: number, minLogit: number): number {
  const mass = scratch.binMass;
  mass.fill(0);
  let total = 0;
  for (let i = 0; i < work.length; i++) {
    const e = Math.exp(work[i]);
    if (e === 0) continue;
    mass[binOf(work[i])] += e;
    total += e;
  }
  const limit = topP * total;
  let boundary = 0;
  let before = 0; // mass of the bins above `boundary`
  while (boundary < binCount - 1 && before + mass[boundary] < limit) before += mass[boundary++];
  let n = 0;
  for (let i = 0; i < work.length; i++) {
    const x = work[i];
    if (x >= minLogit && x > -Infinity && binOf(x) < boundary) order[n++] = i;
  }
  let m = n;
  for (let i = 0; i < work.length; i++) {
    const x = work[i];
    if (x >= minLogit && x > -Infinity && binOf(x) === boundary) order[m++] = i;
  }
  order.subarray(n, m).sort((a, b) => work[b] - work[a] || a - b);
  while (n < m && before < limit) before += Math.exp(work[order[n++]]);
  return Math.max(n, 1);
}
