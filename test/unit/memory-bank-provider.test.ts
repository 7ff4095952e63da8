/**
 * BankProvider's near-duplicate filter reads each candidate's token ids from the stored reference
 * (issue 12 item 6): a retrieval encodes its query only, never a candidate's text; a bank written
 * before tokens were stored has each candidate encoded once and kept. The decisions are the ones
 * the filter made before, when it encoded every candidate at every retrieval.
 */
import { describe, expect, test } from 'vitest';
import { BankProvider } from '../../src/memory/bank-provider';
import { resolvePolicy } from '../../src/memory/policy';
import { overlapRatio } from '../../src/memory/retrieval';
import type { BankStore } from '../../src/memory/store/bank-store';
import type { Reference } from '../../src/memory/types';
import type { Tokenizer } from '../../src/tokenizer/tokenizer';

const query = 'the cat sat on the mat by the door';
const texts = [
  'the cat sat on the mat by the door.', // near-copy: dropped
  'a dog ran through the park at noon', // different words, but shares most of its letters: dropped
  'the cat sat on the mat', // all of it in the query: dropped
  'cats and mats and doors are in this story of a house', // partial: kept
  'the door by the mat', // inside the query: dropped
  'zebra quartz fjord vex nymph', // kept
];

/** Ids = char codes (a byte-level tokenizer's view); counts every call and its text. */
function countingTokenizer() {
  const calls: string[] = [];
  const encode = (text: string) => {
    calls.push(text);
    return [...text].map((c) => c.charCodeAt(0));
  };
  return { tokenizer: { encode } as unknown as Tokenizer, calls, encode };
}

function fakeStore(refs: Reference[], fetched: number[][]): BankStore {
  return {
    meta: { name: 'fake', createdAt: 0, updatedAt: 0, nextId: refs.length, counts: { references: refs.length, documents: 1 } },
    async getReferences(ids: number[]) {
      return new Map(refs.filter((r) => ids.includes(r.id)).map((r) => [r.id, r]));
    },
    async getRecords(ids: number[]) {
      fetched.push(ids);
      return { records: new Map(), corrupt: [], missing: ids };
    },
    close() {},
  } as unknown as BankStore;
}

function provider(withTokens: boolean) {
  const tok = countingTokenizer();
  const refs: Reference[] = texts.map((text, id) => {
    const r: Reference = { id, source: 'doc', text, start: 0, end: text.length, tokenCount: text.length };
    if (withTokens) r.tokens = [...text].map((c) => c.charCodeAt(0));
    return r;
  });
  const fetched: number[][] = [];
  const policy = resolvePolicy({ numLayers: 2, numKvHeads: 1 }, {}, { memoriesPerRetrieval: 2, dedupThreshold: 2 / 3 });
  const hits = texts.map((_, id) => ({ id, score: 10 - id }));
  const retriever = { search: async () => hits };
  const p = new BankProvider(fakeStore(refs, fetched), policy, null as never, retriever, tok.tokenizer);
  return { p, calls: tok.calls, fetched, hits, threshold: policy.dedupThreshold! };
}

/** The decisions as the filter made them before: both sides encoded at every retrieval. */
function keptBefore(threshold: number): number[] {
  const { encode } = countingTokenizer();
  const q = encode(query);
  return texts
    .map((t, id) => ({ t, id }))
    .filter(({ t }) => overlapRatio(q, encode(t)) <= threshold)
    .map(({ id }) => id);
}

describe('BankProvider near-duplicate filter', () => {
  test('stored token ids: only the query is encoded, decisions as before', async () => {
    const t = provider(true);
    await t.p.retrieve(query);
    await t.p.retrieve(query);
    expect(t.calls).toEqual([query, query]);
    const want = keptBefore(t.threshold);
    expect(want.length).toBeGreaterThan(0); // the fixture keeps some candidates and drops others
    expect(want.length).toBeLessThan(texts.length);
    expect(t.fetched).toEqual([want, want]);
  });

  test('a bank without stored token ids: each candidate encoded once, then cached; decisions as before', async () => {
    const t = provider(false);
    await t.p.retrieve(query);
    expect(t.calls).toEqual([query, ...texts]);
    await t.p.retrieve(query);
    expect(t.calls).toEqual([query, ...texts, query]);
    expect(t.fetched).toEqual([keptBefore(t.threshold), keptBefore(t.threshold)]);
  });
});
