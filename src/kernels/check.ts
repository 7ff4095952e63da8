/**
 * The one home of kernel-argument checks (style.md rule 9): every encode function validates its
 * arguments here before it records a dispatch, and every failure is a ShapeMismatchError whose
 * message and details name the op, the tensor, what was expected and what was found.
 */
import { ShapeMismatchError } from '../util/errors';

/** Bytes a tensor of `elems` elements occupies, `elemBytes` each (f32 and u32: 4). */
export const tensorBytes = (elems: number, elemBytes = 4): number => elems * elemBytes;

const show = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));

/** Checks for one op's arguments; `op` is the snake_case op name (`rms_norm`, `attention`). */
export class ArgCheck {
  constructor(readonly op: string) {}

  /**
   * Throws ShapeMismatchError: `${op}: ${tensor}[ ${quantity}]: expected ${expected}, got ${actual}[ (buffer "${label}")]`,
   * with { op, tensor, quantity?, expected, actual, label? } as details (plain JSON).
   */
  fail(tensor: string, expected: unknown, actual: unknown, quantity?: string, label?: string): never {
    const what = quantity ? `${tensor} ${quantity}` : tensor;
    throw new ShapeMismatchError(
      `${this.op}: ${what}: expected ${show(expected)}, got ${show(actual)}${label ? ` (buffer "${label}")` : ''}`,
      { op: this.op, tensor, ...(quantity ? { quantity } : {}), expected, actual, ...(label ? { label } : {}) },
    );
  }

  /** Each value is an integer ≥ 1 (a count or a dimension). */
  positive(values: Record<string, number>): this {
    for (const [name, v] of Object.entries(values)) if (!Number.isInteger(v) || v < 1) this.fail(name, 'an integer >= 1', v);
    return this;
  }

  /** Each value is an integer ≥ 0 (an element offset or a start position). */
  offsets(values: Record<string, number>): this {
    for (const [name, v] of Object.entries(values)) if (!Number.isInteger(v) || v < 0) this.fail(name, 'an integer >= 0', v);
    return this;
  }

  /** `buf` holds at least `elems` elements of `elemBytes` bytes (offsets included in `elems`); the message names its GPU label. */
  fits(tensor: string, buf: { size: number; label?: string }, elems: number, elemBytes = 4): this {
    const need = tensorBytes(elems, elemBytes);
    if (buf.size < need) this.fail(tensor, `>= ${need}`, buf.size, 'bytes', buf.label);
    return this;
  }

  /** `a` and `b` are different buffers (the kernel reads one while it writes the other). */
  distinct(a: string, bufA: object, b: string, bufB: object): this {
    if (bufA === bufB) this.fail(a, `a buffer other than ${b}`, b);
    return this;
  }

  /**
   * `out` at `outOffset` either is `input`'s range (in place) or does not overlap it, for `n`
   * elements each (the kernel reads each element before writing the same one, no other).
   */
  sameOrDisjoint(out: string, outBuf: object, outOffset: number, input: string, inBuf: object, inOffset: number, n: number): this {
    if (outBuf === inBuf && outOffset !== inOffset && Math.abs(outOffset - inOffset) < n) {
      this.fail(
        out,
        `the range of ${input} or one disjoint from it`,
        `${out} offset ${outOffset}, ${input} offset ${inOffset}, ${n} elements`,
        'range',
      );
    }
    return this;
  }

  /** A condition that is not one of the above; `expected` says what should hold. */
  that(ok: boolean, tensor: string, expected: unknown, actual: unknown): this {
    if (!ok) this.fail(tensor, expected, actual);
    return this;
  }
}
