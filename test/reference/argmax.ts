/**
 * CPU reference for argmax: index of the largest value, lowest index on ties, NaN skipped,
 * -0 equal to +0; `none` when every value is NaN.
 */
export function argmaxRef(x: ArrayLike<number>, none: number): number {
  let best = none;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) continue;
    if (best === none || v > x[best]) best = i;
  }
  return best;
}
