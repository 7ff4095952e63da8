/**
 * Cutting documents into references (knowledge chunks of ≤ policy.referenceLength tokens) and the
 * reference prefix's ids. A reference is a slice of the source text: `text.slice(start, end)`, and
 * its tokens are the encoding of that slice alone, re-checked after every cut (byte-level BPE may
 * merge differently at a cut than inside the document).
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { InvalidOptionsError } from '../util/errors';
import type { MemoryPolicy, Reference } from './types';

/** A reference with the ids the writer encodes (its text encoded without special tokens). */
export interface TokenizedReference extends Reference {
  tokens: number[];
}

/** A cut is "near" a paragraph or sentence end when it keeps at least this share of the longest cut. */
const preferredShare = 0.5;

const isSpace = (c: string) => /\s/.test(c);
const encode = (tok: Tokenizer, s: string) => tok.encode(s, { addSpecialTokens: false });

/** The reference prefix as ids; every occurrence of the tokenizer's BOS string becomes the BOS id. */
export function prefixTokens(tokenizer: Tokenizer, policy: Pick<MemoryPolicy, 'referencePrefix'>): number[] {
  const prefix = policy.referencePrefix,
    bos = tokenizer.bosToken,
    bosId = tokenizer.bosTokenId;
  if (!bos || bosId === null) return prefix ? encode(tokenizer, prefix) : [];
  const ids: number[] = [];
  prefix.split(bos).forEach((part, i) => {
    if (i > 0) ids.push(bosId);
    if (part) ids.push(...encode(tokenizer, part));
  });
  return ids;
}

/** Largest end e in (start, text.length] (not inside a surrogate pair) whose slice encodes to ≤ limit tokens. */
function longestFit(tok: Tokenizer, text: string, start: number, limit: number): number {
  const fits = (e: number) => encode(tok, text.slice(start, e)).length <= limit;
  const clamp = (e: number) => {
    let x = Math.min(e, text.length);
    if (x < text.length && x > start + 1 && isLowSurrogate(text.charCodeAt(x))) x--;
    return x;
  };
  let lo = clamp(start + 1);
  if (!fits(lo)) {
    throw new InvalidOptionsError(`referenceLength ${limit} is too small: one character at offset ${start} needs more tokens`, {
      option: 'referenceLength',
    });
  }
  // Gallop to a slice that no longer fits, then bisect between the last fit and it.
  let step = Math.max(1, limit);
  let hi = clamp(lo + step);
  while (hi > lo && fits(hi)) {
    if (hi === text.length) return hi;
    lo = hi;
    step *= 2;
    hi = clamp(lo + step);
  }
  while (hi - lo > 1) {
    const mid = clamp(Math.floor((lo + hi) / 2));
    if (mid <= lo) break;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Where to cut in (start, maxEnd]: a paragraph end, else a sentence end, near maxEnd; else the last word gap. */
function preferredCut(text: string, start: number, maxEnd: number): number {
  if (maxEnd >= text.length) return text.length;
  const span = text.slice(start, maxEnd + 1); // one look-ahead char: is the cut followed by a space?
  const floor = Math.floor((maxEnd - start) * preferredShare);
  const lastMatch = (re: RegExp) => {
    let best = -1;
    for (const m of span.matchAll(re)) {
      const cut = m.index + m[1].length;
      if (cut <= maxEnd - start && cut > 0) best = cut;
    }
    return best;
  };
  const para = lastMatch(/(\S)[ \t\r]*\n[ \t\r]*\n/g);
  if (para >= floor) return start + para;
  const sentence = lastMatch(/([.!?。！？…]["'”’)\]]*)(?=\s)/g);
  if (sentence >= floor) return start + sentence;
  const word = lastMatch(/(\S)(?=\s)/g);
  if (word > 0) return start + word;
  return maxEnd;
}

/** Drops trailing whitespace of [start, end) (the caller re-checks the token count). */
function trimEnd(text: string, start: number, end: number): number {
  let e = end;
  while (e > start + 1 && isSpace(text[e - 1])) e--;
  return e;
}

/**
 * Cuts `text` into references of ≤ policy.referenceLength tokens, in order, ids from `firstId`.
 * Whitespace between references belongs to none of them. Cuts prefer paragraph ends, then sentence
 * ends (when they keep at least half of the longest possible reference), then word gaps.
 */
export function splitIntoReferences(
  tokenizer: Tokenizer,
  source: string,
  text: string,
  policy: Pick<MemoryPolicy, 'referenceLength'>,
  firstId: number,
): TokenizedReference[] {
  const limit = policy.referenceLength;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidOptionsError(`referenceLength must be a positive integer, got ${limit}`, { option: 'referenceLength' });
  }
  const refs: TokenizedReference[] = [];
  let start = 0;
  for (;;) {
    while (start < text.length && isSpace(text[start])) start++;
    if (start >= text.length) return refs;
    const maxEnd = longestFit(tokenizer, text, start, limit);
    let end = trimEnd(text, start, preferredCut(text, start, maxEnd));
    let tokens = encode(tokenizer, text.slice(start, end));
    if (tokens.length > limit) {
      // the trimmed or preferred cut encodes longer: fall back to the longest fit
      end = maxEnd;
      tokens = encode(tokenizer, text.slice(start, end));
    }
    const slice = text.slice(start, end);
    refs.push({ id: firstId + refs.length, source, text: slice, start, end, tokenCount: tokens.length, tokens });
    start = end;
  }
}
