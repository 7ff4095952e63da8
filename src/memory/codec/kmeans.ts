/**
 * Seeded, deterministic k-means for PQ codebooks: k-means++ initialisation (Arthur & Vassilvitskii
 * 2007), then Lloyd iterations until no assignment changes or `iterations` is reached. Distances and
 * centroid sums accumulate in float64; an emptied cluster takes the point farthest from its centroid.
 * Same points, k, iterations and PRNG state → same centroids on every platform.
 */
import type { Prng } from '../../util/prng';

/** Squared distance between point `i` of `points` and centroid `c` of `cent`, both of width d. */
function dist2(points: Float32Array, i: number, cent: Float32Array, c: number, d: number): number {
  let s = 0;
  for (let j = 0, a = i * d, b = c * d; j < d; j++) {
    const t = points[a + j] - cent[b + j];
    s += t * t;
  }
  return s;
}

function initPlusPlus(points: Float32Array, n: number, d: number, k: number, rng: Prng, cent: Float32Array): void {
  const minD = new Float64Array(n).fill(Infinity);
  let pick = Math.floor(rng.nextFloat() * n);
  for (let c = 0; c < k; c++) {
    if (c > 0) {
      let total = 0;
      for (let i = 0; i < n; i++) total += minD[i];
      if (total > 0) {
        let r = rng.nextFloat() * total;
        pick = n - 1;
        for (let i = 0; i < n; i++) {
          r -= minD[i];
          if (r < 0) {
            pick = i;
            break;
          }
        }
      } else {
        pick = Math.floor(rng.nextFloat() * n); // every point already is a centroid: duplicate one
      }
    }
    cent.set(points.subarray(pick * d, pick * d + d), c * d);
    for (let i = 0; i < n; i++) {
      const t = dist2(points, i, cent, c, d);
      if (t < minD[i]) minD[i] = t;
    }
  }
}

/**
 * Index of the centroid nearest to point `i` (first one on ties); its squared distance in `best[0]`.
 * A centroid is abandoned as soon as its partial sum reaches the best so far (exact: sums only grow).
 */
export function nearest(points: Float32Array, i: number, cent: Float32Array, k: number, d: number, best: Float64Array): number {
  const a = i * d;
  let arg = 0,
    bd = Infinity;
  for (let c = 0, b = 0; c < k; c++, b += d) {
    let s = 0;
    for (let j = 0; j < d && s < bd; j++) {
      const t = points[a + j] - cent[b + j];
      s += t * t;
    }
    if (s < bd) {
      bd = s;
      arg = c;
    }
  }
  best[0] = bd;
  return arg;
}

function update(points: Float32Array, n: number, d: number, k: number, assign: Int32Array, dist: Float64Array, cent: Float32Array): void {
  const sums = new Float64Array(k * d);
  const counts = new Uint32Array(k);
  for (let i = 0; i < n; i++) {
    const c = assign[i];
    counts[c]++;
    for (let j = 0; j < d; j++) sums[c * d + j] += points[i * d + j];
  }
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) {
      for (let j = 0; j < d; j++) cent[c * d + j] = sums[c * d + j] / counts[c];
      continue;
    }
    let far = 0;
    for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
    cent.set(points.subarray(far * d, far * d + d), c * d);
    dist[far] = 0; // the next empty cluster takes another point
  }
}

/** k centroids (k, d) of `n` points (n, d). */
export function kmeans(points: Float32Array, n: number, d: number, k: number, iterations: number, rng: Prng): Float32Array {
  const cent = new Float32Array(k * d);
  initPlusPlus(points, n, d, k, rng, cent);
  const assign = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const best = new Float64Array(1);
  for (let it = 0; it < iterations; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const c = nearest(points, i, cent, k, d, best);
      dist[i] = best[0];
      if (c !== assign[i]) {
        assign[i] = c;
        changed++;
      }
    }
    if (changed === 0) break;
    update(points, n, d, k, assign, dist, cent);
  }
  return cent;
}
