/**
 * expectClose: every element |a − r| ≤ atol + rtol·|r|, plus an optional normalized-MSE bound for
 * reductions and matmuls. On failure the message lists the worst mismatches with their indices.
 */
export interface CloseOptions {
  atol: number;
  rtol: number;
  nmse?: number;
  label?: string;
}

export function compareClose(actual: ArrayLike<number>, ref: ArrayLike<number>, o: CloseOptions): string | null {
  if (actual.length !== ref.length) return `${o.label ?? 'value'}: length ${actual.length} != reference ${ref.length}`;
  const bad: { i: number; a: number; r: number; excess: number }[] = [];
  let se = 0,
    sr = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = actual[i],
      r = ref[i];
    const tol = o.atol + o.rtol * Math.abs(r);
    const d = Math.abs(a - r);
    if (!(d <= tol)) bad.push({ i, a, r, excess: Number.isNaN(d) ? Infinity : d - tol });
    se += (a - r) ** 2;
    sr += r * r;
  }
  const nmse = sr > 0 ? se / sr : se;
  const problems: string[] = [];
  if (bad.length) {
    bad.sort((x, y) => y.excess - x.excess);
    problems.push(
      `${bad.length}/${ref.length} elements outside atol ${o.atol} rtol ${o.rtol}; worst: ` +
        bad
          .slice(0, 8)
          .map((b) => `[${b.i}] ${b.a} vs ${b.r}`)
          .join(', '),
    );
  }
  if (o.nmse !== undefined && !(nmse <= o.nmse)) problems.push(`NMSE ${nmse.toExponential(3)} > ${o.nmse}`);
  return problems.length ? `${o.label ?? 'value'}: ${problems.join('; ')}` : null;
}

export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, o: CloseOptions): void {
  const msg = compareClose(actual, ref, o);
  if (msg) throw new Error(msg);
}

export const tol = {
  f32Elementwise: { atol: 1e-6, rtol: 1e-5 },
  f32Reduction: { atol: 1e-4, rtol: 1e-3, nmse: 1e-7 },
  f16: { atol: 1e-2, rtol: 1e-2 },
} as const;

/** Normalized MSE of `a` against reference `r`. */
export function nmse(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let se = 0,
    sr = 0;
  for (let i = 0; i < r.length; i++) {
    se += (a[i] - r[i]) ** 2;
    sr += r[i] ** 2;
  }
  return se / sr;
}
