/** Small statistics shared by the page and Node sides of the bench (no imports: runs in both). */

/** Median of the gaps between consecutive times (0 with fewer than two). */
export function medianGap(times: number[]): number {
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i])
    .sort((a, b) => a - b);
  if (gaps.length === 0) return 0;
  const mid = gaps.length >> 1;
  return gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
}
