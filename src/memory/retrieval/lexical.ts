/**
 * Lexical retriever on minisearch (BM25+ scoring). Tokens: runs of letters/digits/marks, with each
 * CJK character (Han, kana, Hangul) a token of its own; terms are NFKC-normalized and lower-cased
 * (case folding); an optional stop-word list is dropped at index and query time.
 * Scores are divided by the best score of the query, so the top hit scores 1 and the rest lie in
 * (0, 1]: comparable across queries for hybrid fusion (see hybrid.ts).
 */
import MiniSearch from 'minisearch';
import { RetrievalError } from '../../util/errors';
import { compareHits, type IndexedRetriever, type RetrievalDocument, type SearchHit, type SearchOptions } from './types';

export interface LexicalOptions {
  /** Terms ignored at index and query time (already case-folded). Default: a short English list. */
  stopWords?: readonly string[];
  /** Prefix matching of query terms (default false). */
  prefix?: boolean;
  /** Fuzzy matching: max edit distance as a fraction of the term length (default 0 = exact). */
  fuzzy?: number;
  /** BM25 parameters (minisearch defaults k=1.2, b=0.7, d=0.5). */
  bm25?: { k: number; b: number; d: number };
}

export const englishStopWords: readonly string[] = [
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'for',
  'from',
  'in',
  'is',
  'it',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'was',
  'were',
  'with',
];

const cjk = '\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}';
const tokenPattern = new RegExp(`[${cjk}]|(?:(?![${cjk}])[\\p{L}\\p{N}\\p{M}])+`, 'gu');

/** The retriever's tokenizer: case-folded terms, stop words kept (they are dropped by processTerm). */
export function lexicalTerms(text: string): string[] {
  return Array.from(text.normalize('NFKC').matchAll(tokenPattern), (m) => m[0].toLowerCase());
}

interface Stored {
  format: 'memory3-lexical';
  version: 1;
  options: Required<Omit<LexicalOptions, 'bm25'>> & { bm25: LexicalOptions['bm25'] | null };
  index: unknown;
}

type Doc = { id: number; text: string };

export class LexicalRetriever implements IndexedRetriever {
  readonly kind = 'lexical';
  private readonly options: Stored['options'];
  private mini: MiniSearch<Doc>;

  constructor(options: LexicalOptions = {}, restoredIndex?: string) {
    this.options = {
      stopWords: [...(options.stopWords ?? englishStopWords)],
      prefix: options.prefix ?? false,
      fuzzy: options.fuzzy ?? 0,
      bm25: options.bm25 ?? null,
    };
    const msOptions = this.miniSearchOptions();
    this.mini = restoredIndex === undefined ? new MiniSearch<Doc>(msOptions) : MiniSearch.loadJSON<Doc>(restoredIndex, msOptions);
  }

  private miniSearchOptions() {
    const stop = new Set(this.options.stopWords);
    const o = this.options;
    return {
      idField: 'id',
      fields: ['text'],
      tokenize: (text: string) => text.normalize('NFKC').match(tokenPattern) ?? [],
      processTerm: (term: string) => {
        const t = term.toLowerCase();
        return stop.has(t) ? null : t;
      },
      autoVacuum: false,
      searchOptions: {
        combineWith: 'OR' as const,
        prefix: o.prefix,
        fuzzy: o.fuzzy > 0 ? o.fuzzy : false,
        ...(o.bm25 ? { bm25: o.bm25 } : {}),
      },
    };
  }

  /** An empty index with the same options. */
  emptyCopy(): LexicalRetriever {
    const { bm25, ...rest } = this.options;
    return new LexicalRetriever({ ...rest, ...(bm25 ? { bm25 } : {}) });
  }

  get size(): number {
    return this.mini.documentCount;
  }

  has(id: number): boolean {
    return this.mini.has(id);
  }

  async add(docs: readonly RetrievalDocument[]): Promise<void> {
    for (const doc of docs) {
      if (!Number.isSafeInteger(doc.id) || typeof doc.text !== 'string') {
        throw new RetrievalError(`LexicalRetriever.add: expected { id: integer, text: string }, got id ${doc.id}`);
      }
      const entry = { id: doc.id, text: doc.text };
      if (this.mini.has(doc.id)) this.mini.replace(entry);
      else this.mini.add(entry);
    }
  }

  remove(ids: Iterable<number>): number {
    let removed = 0;
    for (const id of ids) {
      if (!this.mini.has(id)) continue;
      this.mini.discard(id);
      removed++;
    }
    if (removed > 0 && this.mini.dirtFactor > 0.3) void this.mini.vacuum();
    return removed;
  }

  async search(query: string, k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    if (!Number.isInteger(k) || k < 0) throw new RetrievalError(`LexicalRetriever.search: k must be a non-negative integer, got ${k}`);
    if (k === 0) return [];
    const exclude = opts.exclude;
    const results = this.mini.search(query, exclude?.size ? { filter: (r) => !exclude.has(r.id) } : {});
    const hits = results
      .map((r) => ({ id: r.id as number, score: r.score }))
      .sort(compareHits)
      .slice(0, k);
    const best = hits.length ? hits[0].score : 0;
    return best > 0 ? hits.map((h) => ({ id: h.id, score: h.score / best })) : [];
  }

  /** UTF-8 JSON: the options and minisearch's own index (no document texts are stored). */
  serialize(): Uint8Array {
    const stored: Stored = { format: 'memory3-lexical', version: 1, options: this.options, index: this.mini.toJSON() };
    return new TextEncoder().encode(JSON.stringify(stored));
  }

  static deserialize(bytes: Uint8Array): LexicalRetriever {
    let stored: Stored;
    try {
      stored = JSON.parse(new TextDecoder().decode(bytes)) as Stored;
    } catch (err) {
      throw new RetrievalError(`LexicalRetriever.deserialize: not JSON (${(err as Error).message})`);
    }
    if (stored?.format !== 'memory3-lexical' || stored.version !== 1) {
      throw new RetrievalError('LexicalRetriever.deserialize: not a memory3-lexical v1 index', { format: stored?.format ?? null });
    }
    const { bm25, ...rest } = stored.options;
    return new LexicalRetriever({ ...rest, ...(bm25 ? { bm25 } : {}) }, JSON.stringify(stored.index));
  }
}
