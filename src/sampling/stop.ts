/**
 * Stop strings over streamed text, with OpenAI semantics: the output ends just before the first
 * stop string and never contains it. Text that could still become a stop string (a suffix that is
 * a prefix of one) is held back until the next delta settles it; `flush` releases it at the end.
 */
import { InvalidOptionsError } from '../util/errors';

export interface StopResult {
  /** Text that is safe to show now. */
  emit: string;
  /** A stop string was found: generation should end; later pushes emit nothing. */
  stopped: boolean;
}

export class StopMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private done = false;

  constructor(stopStrings: readonly string[]) {
    if (!Array.isArray(stopStrings)) throw new InvalidOptionsError('stop must be an array of strings');
    stopStrings.forEach((s, i) => {
      if (typeof s !== 'string' || s.length === 0) {
        throw new InvalidOptionsError(`stop[${i}] must be a non-empty string, got ${JSON.stringify(s)}`, { index: i });
      }
    });
    this.stops = [...new Set(stopStrings)];
  }

  /** True once a stop string has been seen. */
  get stopped(): boolean {
    return this.done;
  }

  push(textDelta: string): StopResult {
    if (this.done) return { emit: '', stopped: true };
    const text = this.held + textDelta;
    let first = -1;
    for (const s of this.stops) {
      const at = text.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.done = true;
      this.held = '';
      return { emit: text.slice(0, first), stopped: true };
    }
    const keep = this.partialSuffixLength(text);
    this.held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** End of generation without a stop: the held-back text is real output. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffixLength(text: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
        if (text.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
