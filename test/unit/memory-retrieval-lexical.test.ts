/** LexicalRetriever: known-answer queries, case folding, normalized scores, exclude, remove, bytes round trip. */
import { describe, expect, it } from 'vitest';
import { LexicalRetriever, lexicalTerms } from '../../src/memory/retrieval/lexical';
import { RetrievalError } from '../../src/util/errors';

const corpus = [
  { id: 1, text: 'Paris is the capital of France and its largest city.' },
  { id: 2, text: 'Jupiter is the largest planet in the Solar System.' },
  { id: 3, text: 'The quick brown fox jumps over the lazy dog.' },
  { id: 4, text: 'A week has seven days; a year has twelve months.' },
  { id: 5, text: 'Berlin is the capital of Germany.' },
  { id: 6, text: 'Saturn has rings made of ice and rock; it is a gas giant planet.' },
  { id: 7, text: 'Dogs and foxes are both canids.' },
  { id: 8, text: '東京は日本の首都です。' },
];

async function built(): Promise<LexicalRetriever> {
  const r = new LexicalRetriever();
  await r.add(corpus.slice(0, 4));
  await r.add(corpus.slice(4));
  return r;
}

describe('LexicalRetriever', () => {
  it('tokenizes with case folding and splits CJK per character', () => {
    expect(lexicalTerms('Hello, WORLD! Ünïcode ﬁne')).toEqual(['hello', 'world', 'ünïcode', 'fine']);
    expect(lexicalTerms('東京abc')).toEqual(['東', '京', 'abc']);
  });

  it('answers known queries with the right document first', async () => {
    const r = await built();
    const cases: [string, number][] = [
      ['what is the capital of FRANCE', 1],
      ['largest planet', 2],
      ['lazy dog', 3],
      ['how many months in a year', 4],
      ['capital of germany', 5],
      ['rings of ice', 6],
      ['日本の首都', 8],
    ];
    for (const [query, id] of cases) {
      const hits = await r.search(query, 3);
      expect(hits[0]?.id, query).toBe(id);
    }
  });

  it('normalizes scores per query into (0, 1] with the best hit at 1, sorted', async () => {
    const r = await built();
    const hits = await r.search('capital planet', 10);
    expect(hits.length).toBeGreaterThan(2);
    expect(hits[0].score).toBe(1);
    for (let i = 1; i < hits.length; i++) {
      expect(hits[i].score).toBeGreaterThan(0);
      expect(hits[i].score).toBeLessThanOrEqual(hits[i - 1].score);
    }
    expect(await r.search('zzz unknownword', 5)).toEqual([]);
    expect(await r.search('the of is', 5)).toEqual([]); // stop words only
  });

  it('honours exclude sets and k', async () => {
    const r = await built();
    const all = await r.search('capital', 10);
    expect(all.map((h) => h.id).sort()).toEqual([1, 5]);
    const excluded = await r.search('capital', 10, { exclude: new Set([all[0].id]) });
    expect(excluded.map((h) => h.id)).toEqual([all[1].id]);
    expect(excluded[0].score).toBe(1);
    expect(await r.search('capital', 1)).toHaveLength(1);
  });

  it('removes and replaces documents', async () => {
    const r = await built();
    expect(r.remove([5, 99])).toBe(1);
    expect(r.has(5)).toBe(false);
    expect(r.size).toBe(corpus.length - 1);
    expect(await r.search('germany', 5)).toEqual([]);
    await r.add([{ id: 3, text: 'Germany borders France.' }]);
    expect(r.size).toBe(corpus.length - 1);
    expect((await r.search('germany', 5)).map((h) => h.id)).toEqual([3]);
    expect(await r.search('lazy dog', 5)).not.toContainEqual(expect.objectContaining({ id: 3 }));
  });

  it('serialize/deserialize gives identical results', async () => {
    const r = new LexicalRetriever({ stopWords: ['the'], prefix: true });
    await r.add(corpus);
    r.remove([7]);
    const restored = LexicalRetriever.deserialize(r.serialize());
    expect(restored.size).toBe(r.size);
    for (const q of ['capit', 'The planet', 'dog fox', 'is a', '首都']) {
      expect(await restored.search(q, 5)).toEqual(await r.search(q, 5));
    }
    const twice = LexicalRetriever.deserialize(restored.serialize());
    expect(await twice.search('planet capital', 5)).toEqual(await r.search('planet capital', 5));
    expect(() => LexicalRetriever.deserialize(new TextEncoder().encode('{"format":"x"}'))).toThrow(RetrievalError);
  });
});
