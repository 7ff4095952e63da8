/**
 * Bounded top-k by (score desc, id asc): a binary min-heap whose root is the worst kept entry.
 * `row` carries the caller's row index alongside the id (for re-ranking without a lookup).
 */
import type { SearchHit } from './types';

export class TopK {
  private readonly scores: Float64Array;
  private readonly ids: Float64Array;
  private readonly rows: Int32Array;
  private count = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.ids = new Float64Array(capacity);
    this.rows = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** True when (score, id) would enter the heap: it is full and the candidate beats the root, or not full. */
  admits(score: number, id: number): boolean {
    if (this.count < this.capacity) return this.capacity > 0;
    const s = this.scores[0];
    return score > s || (score === s && id < this.ids[0]);
  }

  /** The smallest kept score, or -Infinity while not full (a quick pre-filter for scans). */
  get threshold(): number {
    return this.count < this.capacity ? -Infinity : this.scores[0];
  }

  push(score: number, id: number, row: number): void {
    if (!this.admits(score, id)) return;
    if (this.count < this.capacity) {
      this.set(this.count, score, id, row);
      this.siftUp(this.count++);
    } else {
      this.set(0, score, id, row);
      this.siftDown(0);
    }
  }

  /** Kept entries, best first. */
  sorted(): { id: number; score: number; row: number }[] {
    const out = [];
    for (let i = 0; i < this.count; i++) out.push({ id: this.ids[i], score: this.scores[i], row: this.rows[i] });
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  hits(): SearchHit[] {
    return this.sorted().map(({ id, score }) => ({ id, score }));
  }

  /** a is worse than b: lower score, or equal score and larger id. */
  private worse(a: number, b: number): boolean {
    const sa = this.scores[a],
      sb = this.scores[b];
    return sa < sb || (sa === sb && this.ids[a] > this.ids[b]);
  }

  private set(i: number, score: number, id: number, row: number): void {
    this.scores[i] = score;
    this.ids[i] = id;
    this.rows[i] = row;
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i],
      d = this.ids[i],
      r = this.rows[i];
    this.set(i, this.scores[j], this.ids[j], this.rows[j]);
    this.set(j, s, d, r);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < this.count && this.worse(l, m)) m = l;
      if (r < this.count && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
