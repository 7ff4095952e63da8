import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { StreamingDecoder } from '../../src/tokenizer/streaming-decoder';
import { TokenizerError } from '../../src/util/errors';
import {
  byteLevel,
  bytesToUnicode,
  makeTinyTokenizerConfig,
  makeTinyTokenizerJson,
  tinyMerges,
  tinySpecialTokens,
} from '../helpers/tiny-tokenizer';

const tok = Tokenizer.fromJSON(makeTinyTokenizerJson(), makeTinyTokenizerConfig());
const id = (token: string) => {
  const v = tok.tokenToId(token);
  if (v === null) throw new Error(`no token ${token}`);
  return v;
};

describe('tiny tokenizer fixture', () => {
  it('has the GPT-2 byte table: 256 distinct printable characters, printable ASCII unchanged', () => {
    const table = bytesToUnicode();
    expect(new Set(table).size).toBe(256);
    expect(table[0x41]).toBe('A');
    expect(table[0x20]).toBe('\u0120'); // 'Ġ'
    expect(table[0x0a]).toBe('\u010a'); // 'Ċ'
  });
});

describe('Tokenizer', () => {
  it('counts and empties its BPE word cache (soak figures) without changing tokenization', () => {
    const t = Tokenizer.fromJSON(makeTinyTokenizerJson(), makeTinyTokenizerConfig());
    expect(t.cachedWords).toBe(0);
    const ids = t.encode('the cat sat on the mat');
    expect(t.cachedWords).toBeGreaterThanOrEqual(4);
    t.clearWordCache();
    expect(t.cachedWords).toBe(0);
    expect(t.encode('the cat sat on the mat')).toEqual(ids);
  });

  it('reports vocabulary size, BOS, EOS and specials', () => {
    expect(tok.vocabSize).toBe(256 + tinyMerges.length + tinySpecialTokens.length);
    expect(tok.bosTokenId).toBe(id('<s>'));
    expect(tok.bosToken).toBe('<s>');
    expect(tok.eosToken).toBe('</s>');
    expect(tok.eosTokenIds).toEqual([id('</s>')]);
    for (const s of tinySpecialTokens) expect(tok.isSpecial(id(s))).toBe(true);
    expect(tok.isSpecial(id('Hello'))).toBe(false);
    expect(tok.idToToken(0x41)).toBe('A');
    expect(tok.idToToken(99999)).toBeNull();
    expect(tok.tokenToId('nope')).toBeNull();
  });

  it('merges config eos ids (number or list) after the tokenizer_config one, without duplicates', () => {
    const json = makeTinyTokenizerJson();
    const eos = id('</s>');
    const end = id('<|end|>');
    expect(Tokenizer.fromJSON(json, makeTinyTokenizerConfig(), { eosTokenId: end }).eosTokenIds).toEqual([eos, end]);
    expect(Tokenizer.fromJSON(json, makeTinyTokenizerConfig(), { eosTokenId: [eos, end] }).eosTokenIds).toEqual([eos, end]);
    const bare = Tokenizer.fromJSON(json, null, { eosTokenId: [end] });
    expect(bare.eosTokenIds).toEqual([end]);
    expect(bare.bosTokenId).toBeNull();
    expect(bare.isEos(end)).toBe(true);
  });

  it('encodes with the merges and BOS from the post-processor', () => {
    expect(tok.encode('Hello world')).toEqual([id('<s>'), id('Hello'), id(byteLevel(' world'))]);
    expect(tok.encode('Hello world', { addSpecialTokens: false })).toEqual([id('Hello'), id(byteLevel(' world'))]);
    // No merge applies: one token per byte.
    expect(tok.encode('xyz', { addSpecialTokens: false })).toEqual([0x78, 0x79, 0x7a]);
  });

  it.each([
    'Hello world',
    'plain ASCII, with punctuation! 123',
    ' leading and  double  spaces\n\ttabs',
    'emoji 😀🎉 and 👩‍💻',
    '中文字符 and 日本語',
    'mixed é ñ ü ß',
    '',
  ])('round-trips %j', (text) => {
    const ids = tok.encode(text, { addSpecialTokens: false });
    const bytes = new TextEncoder().encode(text).length;
    expect(ids.length).toBeLessThanOrEqual(bytes);
    expect(tok.decode(ids)).toBe(text);
  });

  it('splits multi-byte characters into byte tokens (the emoji merge makes the first token partial)', () => {
    const ids = tok.encode('😀', { addSpecialTokens: false });
    expect(ids).toEqual([id(byteLevel('😀').slice(0, 2)), 0x98, 0x80]);
    expect(tok.encode('中', { addSpecialTokens: false })).toEqual([0xe4, 0xb8, 0xad]);
  });

  it('encodes special tokens in text as single ids and can skip them in decode', () => {
    const ids = tok.encode('<|user|>\nHi<|end|>', { addSpecialTokens: false });
    expect(ids).toEqual([id('<|user|>'), 0x0a, 0x48, 0x69, id('<|end|>')]);
    expect(tok.decode(ids)).toBe('<|user|>\nHi<|end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('\nHi');
  });

  it('keeps spaces before punctuation unless tokenizer_config asks for clean-up', () => {
    const text = "a . b , it 's";
    const bare = Tokenizer.fromJSON(makeTinyTokenizerJson(), null);
    expect(bare.decode(bare.encode(text, { addSpecialTokens: false }))).toBe(text);
    const cleaning = Tokenizer.fromJSON(makeTinyTokenizerJson(), { clean_up_tokenization_spaces: true });
    expect(cleaning.decode(cleaning.encode(text, { addSpecialTokens: false }))).toBe("a. b, it's");
  });

  it('decodes an empty list to an empty string and rejects unknown ids', () => {
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([1, tok.vocabSize])).toThrow(TokenizerError);
    expect(() => tok.decode([1, -1])).toThrow(/ids\[1\]/);
    expect(() => tok.decode([1.5])).toThrow(TokenizerError);
  });

  it('wraps load failures in TokenizerError', () => {
    expect(() => Tokenizer.fromJSON(null, null)).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJSON({ model: {} }, null)).toThrow(TokenizerError);
    const json = makeTinyTokenizerJson();
    expect(() => Tokenizer.fromJSON({ ...json, model: { type: 'Nonsense' } }, null)).toThrow(/tokenizer.json could not be loaded/);
    expect(() => Tokenizer.fromJSON(json, [] as unknown)).toThrow(TokenizerError);
  });

  it('refuses hostile vocabularies before the library sizes its tables by them (found by fuzzing)', () => {
    const json = makeTinyTokenizerJson() as { model: { vocab: Record<string, number> } };
    const first = Object.keys(json.model.vocab)[0];
    const t0 = performance.now();
    expect(() => Tokenizer.fromJSON({ ...json, model: { ...json.model, vocab: { ...json.model.vocab, [first]: 2 ** 31 } } }, null)).toThrow(
      /ids must be integers/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(() => Tokenizer.fromJSON({ ...json, model: { ...json.model, vocab: 'wAjI/:[mXG' } }, null)).toThrow(
      /model.vocab must be an object/,
    );
    expect(() => Tokenizer.fromJSON({ ...json, model: { ...json.model, vocab: { ...json.model.vocab, [first]: 1.5 } } }, null)).toThrow(
      TokenizerError,
    );
  });
});

describe('StreamingDecoder', () => {
  function stream(ids: number[], options = {}): string[] {
    const d = new StreamingDecoder(tok, options);
    const out = ids.map((i) => d.push(i));
    out.push(d.flush());
    return out;
  }

  it('emits nothing until an emoji split over byte tokens is complete, and never U+FFFD', () => {
    const ids = tok.encode('a😀b', { addSpecialTokens: false });
    expect(ids.length).toBe(5); // a, F0 9F, 98, 80, b
    expect(stream(ids)).toEqual(['a', '', '', '😀', 'b', '']);
  });

  it('concatenated deltas equal the full decode for multi-byte text', () => {
    const text = 'Hello world 你好 😀🎉 👩‍💻 done';
    const ids = tok.encode(text, { addSpecialTokens: false });
    const deltas = stream(ids);
    expect(deltas.join('')).toBe(text);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
  });

  it('flushes an unfinished character at the end as U+FFFD', () => {
    const ids = tok.encode('ok😀', { addSpecialTokens: false }).slice(0, -1);
    expect(stream(ids)).toEqual(['o', 'k', '', '', '\uFFFD']);
  });

  it('emits genuinely invalid bytes instead of holding them forever', () => {
    const ids = [0x80, 0x80, 0x80, 0x80, 0x80, 0x61];
    const deltas = stream(ids);
    expect(deltas.join('')).toBe(tok.decode(ids));
    expect(deltas.slice(0, -2).join('').length).toBeGreaterThan(0);
  });

  it('skips special tokens by default and can keep them', () => {
    const ids = tok.encode('Hi<|end|>', { addSpecialTokens: false });
    expect(stream(ids).join('')).toBe('Hi');
    expect(stream(ids, { skipSpecialTokens: false }).join('')).toBe('Hi<|end|>');
  });

  it('uses prompt context ids as left context without re-emitting them', () => {
    const prompt = tok.encode('<|assistant|>\n', { addSpecialTokens: false });
    const reply = tok.encode(' world 😀', { addSpecialTokens: false });
    expect(stream(reply, { contextIds: prompt }).join('')).toBe(' world 😀');
  });

  it('keeps working over long generations (window trimming)', () => {
    const text = 'Hello world 中文 😀 '.repeat(40);
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(stream(ids).join('')).toBe(text);
  });
});
