/**
 * A GGUF's `tokenizer.ggml.*` vocabulary as the tokenizer.json and tokenizer_config.json that
 * `@huggingface/tokenizers` runs, set up to tokenize as llama.cpp does:
 * - `gpt2` (byte-level BPE): the merges, and the pre-tokenizer regexes llama.cpp applies for
 *   `tokenizer.ggml.pre` (llama-bpe, qwen2, smollm, gpt-2, …), each splitting the pieces of the last;
 * - `llama` (SentencePiece): BPE whose merges are ranked by the score of the merged piece (llama.cpp
 *   merges the pair whose result scores highest), byte fallback to `<0xXX>` tokens, spaces as ▁ and
 *   a ▁ prefix unless `tokenizer.ggml.add_space_prefix` is false.
 * Control tokens become special added tokens, user-defined ones plain added tokens (matched in text).
 */
import { TokenizerError } from '../util/errors';

type Meta = ReadonlyMap<string, unknown>;

const tokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const llama3 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface PreTokenizer {
  regexes: string[];
  cleanSpaces: boolean;
  addBos: boolean;
  ignoreMerges: boolean;
}

/** llama.cpp's pre-tokenizer of each `tokenizer.ggml.pre` name (src/llama-vocab.cpp), for the families the engine runs. */
const preTokenizers: Record<string, PreTokenizer> = {};
const define = (names: string[], p: PreTokenizer) => {
  for (const n of names) preTokenizers[n] = p;
};
define(['default'], {
  regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', gpt2, '\\p{N}+', '[0-9][0-9][0-9]'],
  cleanSpaces: true,
  addBos: false,
  ignoreMerges: false,
});
define(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'pixtral'], {
  regexes: [llama3],
  cleanSpaces: true,
  addBos: true,
  ignoreMerges: true,
});
define(['gpt-2', 'phi-2', 'mpt', 'olmo'], { regexes: [gpt2], cleanSpaces: true, addBos: false, ignoreMerges: false });
define(['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b'], {
  regexes: ['\\p{N}', gpt2],
  cleanSpaces: true,
  addBos: false,
  ignoreMerges: false,
});
define(['smollm', 'command-r'], { regexes: ['\\p{N}', gpt2], cleanSpaces: false, addBos: false, ignoreMerges: false });
define(['qwen2', 'deepseek-r1-qwen', 'megrez'], { regexes: [qwen2], cleanSpaces: false, addBos: false, ignoreMerges: false });
define(['stablelm2'], { regexes: [qwen2], cleanSpaces: true, addBos: false, ignoreMerges: false });

export const ggufPreTokenizers = Object.keys(preTokenizers);

function strings(meta: Meta, key: string, required: boolean): string[] | null {
  const v = meta.get(key);
  if (v === undefined && !required) return null;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new TokenizerError(`GGUF metadata "${key}" must be an array of strings`, { field: key });
  }
  return v as string[];
}

function numbers(meta: Meta, key: string, length: number): number[] | null {
  const v = meta.get(key);
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number')) {
    throw new TokenizerError(`GGUF metadata "${key}" must be an array of ${length} numbers`, { field: key });
  }
  return v as number[];
}

function id(meta: Meta, key: string, n: number): number | null {
  const v = meta.get(key);
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
    throw new TokenizerError(`GGUF metadata "${key}" = ${String(v)} is not a token id below ${n}`, { field: key });
  }
  return v;
}

function flag(meta: Meta, key: string, fallback: boolean): boolean {
  const v = meta.get(key);
  return typeof v === 'boolean' ? v : fallback;
}

/** SentencePiece pieces as BPE merges: every split of a piece into two pieces, ranked by the piece's score. */
function spmMerges(tokens: string[], scores: number[], types: number[] | null, vocab: Map<string, number>): string[] {
  const merges: { left: string; right: string; score: number; l: number; r: number }[] = [];
  tokens.forEach((piece, i) => {
    const t = types?.[i] ?? tokenType.normal;
    if (t !== tokenType.normal && t !== tokenType.userDefined) return;
    const chars = Array.from(piece);
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join(''),
        right = chars.slice(k).join('');
      const l = vocab.get(left),
        r = vocab.get(right);
      if (l !== undefined && r !== undefined) merges.push({ left, right, score: scores[i], l, r });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.l - b.l || a.r - b.r);
  return merges.map((m) => `${m.left} ${m.right}`);
}

export interface GgufTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

function addedTokens(tokens: string[], types: number[] | null): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  tokens.forEach((content, i) => {
    const t = types?.[i];
    if (t !== tokenType.control && t !== tokenType.userDefined && t !== tokenType.unknown) return;
    const special = t !== tokenType.userDefined;
    out.push({ id: i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });
  return out;
}

function postProcessor(bos: string | null, eos: string | null, addBos: boolean, addEos: boolean, ids: Map<string, number>): unknown {
  const single: unknown[] = [],
    pair: unknown[] = [];
  const special: Record<string, unknown> = {};
  const add = (tok: string | null, on: boolean) => {
    if (!on || tok === null) return null;
    special[tok] = { id: tok, ids: [ids.get(tok)], tokens: [tok] };
    return { SpecialToken: { id: tok, type_id: 0 } };
  };
  const b = add(bos, addBos),
    e = add(eos, addEos);
  for (const [list, seqs] of [
    [single, ['A']],
    [pair, ['A', 'B']],
  ] as const) {
    for (const s of seqs) {
      if (b) list.push(b);
      list.push({ Sequence: { id: s, type_id: 0 } });
      if (e) list.push(e);
    }
  }
  return { type: 'TemplateProcessing', single, pair, special_tokens: special };
}

interface JsonParts {
  tokens: string[];
  types: number[] | null;
  vocab: Map<string, number>;
  merges: string[];
  spm: boolean;
  spacePrefix: boolean;
  pre: PreTokenizer | null;
  unk: number | null;
  post: unknown;
}

/** The tokenizer.json of a vocabulary: SentencePiece-style (▁ normalizer, byte fallback) or byte-level BPE with its pre-tokenizer. */
function tokenizerJsonOf(p: JsonParts): Record<string, unknown> {
  const { spm, spacePrefix, pre } = p;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(p.tokens, p.types),
    normalizer: spm
      ? {
          type: 'Sequence',
          normalizers: [
            ...(spacePrefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
          ],
        }
      : null,
    pre_tokenizer: spm
      ? null
      : {
          type: 'Sequence',
          pretokenizers: [
            ...pre!.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
          ],
        },
    post_processor: p.post,
    decoder: spm
      ? {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'ByteFallback' },
            { type: 'Fuse' },
            ...(spacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
          ],
        }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: p.unk === null ? null : p.tokens[p.unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: spm,
      byte_fallback: spm,
      ignore_merges: pre?.ignoreMerges ?? false,
      vocab: Object.fromEntries(p.vocab),
      merges: p.merges,
    },
  };
}

/** tokenizer.json + tokenizer_config.json for a GGUF's metadata. Throws TokenizerError for vocabularies it cannot run. */
export function ggufTokenizerFiles(meta: Meta): GgufTokenizerFiles {
  const model = meta.get('tokenizer.ggml.model');
  if (model !== 'gpt2' && model !== 'llama') {
    throw new TokenizerError(
      `GGUF tokenizer.ggml.model ${JSON.stringify(model ?? null)} is not supported; supported: gpt2 (BPE), llama (SentencePiece)`,
      { field: 'tokenizer.ggml.model' },
    );
  }
  const tokens = strings(meta, 'tokenizer.ggml.tokens', true)!;
  const n = tokens.length;
  const types = numbers(meta, 'tokenizer.ggml.token_type', n);
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!vocab.has(t)) vocab.set(t, i);
  });
  const bos = id(meta, 'tokenizer.ggml.bos_token_id', n),
    eos = id(meta, 'tokenizer.ggml.eos_token_id', n);
  const unk = id(meta, 'tokenizer.ggml.unknown_token_id', n);
  const spm = model === 'llama';
  const preName = spm ? null : String(meta.get('tokenizer.ggml.pre') ?? 'default');
  const pre = preName === null ? null : preTokenizers[preName];
  if (preName !== null && !pre) {
    throw new TokenizerError(`GGUF pre-tokenizer "${preName}" is not supported; supported: ${ggufPreTokenizers.join(', ')}`, {
      field: 'tokenizer.ggml.pre',
    });
  }
  const addBos = flag(meta, 'tokenizer.ggml.add_bos_token', spm || (pre?.addBos ?? false));
  const addEos = flag(meta, 'tokenizer.ggml.add_eos_token', false);
  const spacePrefix = spm && flag(meta, 'tokenizer.ggml.add_space_prefix', true);
  const bosText = bos === null ? null : tokens[bos],
    eosText = eos === null ? null : tokens[eos];
  let merges: string[];
  if (spm) {
    const scores = numbers(meta, 'tokenizer.ggml.scores', n);
    if (!scores) throw new TokenizerError('GGUF SentencePiece vocabulary has no tokenizer.ggml.scores', { field: 'tokenizer.ggml.scores' });
    merges = spmMerges(tokens, scores, types, vocab);
  } else {
    merges = strings(meta, 'tokenizer.ggml.merges', true)!;
  }
  const tokenizerJson = tokenizerJsonOf({
    tokens,
    types,
    vocab,
    merges,
    spm,
    spacePrefix,
    pre,
    unk,
    post: postProcessor(bosText, eosText, addBos, addEos, vocab),
  });
  const template = meta.get('tokenizer.chat_template');
  const tokenizerConfig: Record<string, unknown> = {
    bos_token: bosText,
    eos_token: eosText,
    unk_token: unk === null ? null : tokens[unk],
    add_bos_token: addBos,
    add_eos_token: addEos,
    chat_template: typeof template === 'string' ? template : null,
    clean_up_tokenization_spaces: pre?.cleanSpaces ?? false,
  };
  return { tokenizerJson, tokenizerConfig };
}
