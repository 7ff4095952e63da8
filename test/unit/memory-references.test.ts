/** Cutting documents into references: offsets, token limits, preferred cuts, the prefix ids. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prefixTokens, splitIntoReferences, type TokenizedReference } from '../../src/memory/references';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { InvalidOptionsError } from '../../src/util/errors';
import { Prng } from '../../src/util/prng';

const dir = 'test/fixtures/models/llama/';
const tok = Tokenizer.fromJSON(
  JSON.parse(readFileSync(`${dir}tokenizer.json`, 'utf8')),
  JSON.parse(readFileSync(`${dir}tokenizer_config.json`, 'utf8')),
);
const encode = (s: string) => tok.encode(s, { addSpecialTokens: false });

const words = ['memory', 'the', 'of', 'keys', 'values', 'sparse', 'attention', 'héllo', 'naïve', '東京', '🙂', 'x'];

/** A seeded document: sentences of words, paragraphs, odd whitespace, a long unbroken run, astral chars. */
function makeDoc(seed: number, sentences: number): string {
  const prng = new Prng(seed),
    r = () => prng.nextFloat();
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  let doc = '  ';
  for (let s = 0; s < sentences; s++) {
    const n = 3 + Math.floor(r() * 14);
    doc += Array.from({ length: n }, () => pick(words)).join(' ') + pick(['.', '!', '?', '."', ';']);
    doc += pick([' ', ' ', '  ', '\n', '\n\n', ' \n\n\t']);
    if (r() < 0.05) doc += `${'z'.repeat(300 + Math.floor(r() * 200))} `;
  }
  return `${doc}\n`;
}

function checkProperties(doc: string, refs: TokenizedReference[], limit: number, firstId: number): void {
  let prevEnd = 0;
  refs.forEach((ref, i) => {
    expect(ref.id).toBe(firstId + i);
    expect(ref.source).toBe('doc');
    expect(ref.start).toBeGreaterThanOrEqual(prevEnd);
    expect(ref.end).toBeGreaterThan(ref.start);
    expect(doc.slice(ref.start, ref.end)).toBe(ref.text);
    expect(doc.slice(prevEnd, ref.start).trim()).toBe(''); // only whitespace is left between references
    const ids = encode(ref.text);
    expect(ref.tokens).toEqual(ids);
    expect(ref.tokenCount).toBe(ids.length);
    expect(ids.length).toBeLessThanOrEqual(limit);
    expect(ids.length).toBeGreaterThan(0);
    expect(ref.text).toBe(ref.text.trimStart());
    prevEnd = ref.end;
  });
  expect(doc.slice(prevEnd).trim()).toBe('');
}

describe('splitIntoReferences', () => {
  for (const limit of [4, 7, 16, 33, 128]) {
    it(`covers the document within ${limit} tokens per reference`, () => {
      const doc = makeDoc(limit, limit < 8 ? 12 : 60);
      const refs = splitIntoReferences(tok, 'doc', doc, { referenceLength: limit }, 100);
      expect(refs.length).toBeGreaterThan(0);
      checkProperties(doc, refs, limit, 100);
      if (limit >= 16) {
        const full = refs.filter((r) => r.tokenCount >= limit / 2).length;
        expect(full / refs.length, 'most references use at least half the budget').toBeGreaterThan(0.6);
      }
    });
  }

  it('cuts at a paragraph end when one is near the limit', () => {
    const para1 = 'alpha beta gamma delta. epsilon zeta eta theta iota.';
    const doc = `${para1}\n\nkappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega`;
    const budget = encode(para1).length + 6;
    const refs = splitIntoReferences(tok, 'doc', doc, { referenceLength: budget }, 0);
    expect(refs[0].text).toBe(para1);
    checkProperties(doc, refs, budget, 0);
  });

  it('cuts at a sentence end rather than mid-sentence', () => {
    const s1 = 'the keys of sparse memory are kept per head.';
    const doc = `${s1} the values follow them in the same order and never move again`;
    const budget = encode(s1).length + 5;
    const refs = splitIntoReferences(tok, 'doc', doc, { referenceLength: budget }, 0);
    expect(refs[0].text).toBe(s1);
  });

  it('never splits a surrogate pair, even inside a run without spaces', () => {
    const doc = '🙂'.repeat(40);
    const refs = splitIntoReferences(tok, 'doc', doc, { referenceLength: 9 }, 0);
    checkProperties(doc, refs, 9, 0);
    for (const r of refs) expect(r.text.length % 2).toBe(0);
    expect(refs.map((r) => r.text).join('')).toBe(doc);
  });

  it('works one token per reference on ASCII, and refuses a budget below one character', () => {
    const doc = 'the keys. of sparse\n\nmemory!';
    const refs = splitIntoReferences(tok, 'doc', doc, { referenceLength: 1 }, 0);
    checkProperties(doc, refs, 1, 0);
    for (const r of refs) expect(r.tokenCount).toBe(1);
    expect(refs.map((r) => r.text).join('')).toBe(doc.replace(/\s+/g, ''));
    expect(encode('東')).not.toHaveLength(1);
    expect(() => splitIntoReferences(tok, 'doc', 'ab 東京', { referenceLength: 1 }, 0)).toThrow(InvalidOptionsError);
  });

  it('returns nothing for blank text and rejects a bad limit', () => {
    expect(splitIntoReferences(tok, 'doc', ' \n\t ', { referenceLength: 8 }, 0)).toEqual([]);
    expect(() => splitIntoReferences(tok, 'doc', 'abc', { referenceLength: 0 }, 0)).toThrow(InvalidOptionsError);
  });
});

describe('prefixTokens', () => {
  it('maps <s> to the BOS id and encodes the rest', () => {
    const ids = prefixTokens(tok, { referencePrefix: '<s>Reference:' });
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids.slice(1)).toEqual(encode('Reference:'));
    expect(ids.filter((t) => t === tok.bosTokenId)).toHaveLength(1);
  });
  it('handles an empty prefix and one without BOS', () => {
    expect(prefixTokens(tok, { referencePrefix: '' })).toEqual([]);
    expect(prefixTokens(tok, { referencePrefix: 'Ref:' })).toEqual(encode('Ref:'));
  });
});
