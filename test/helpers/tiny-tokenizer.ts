/**
 * A tiny byte-level BPE tokenizer.json (the GPT-2 / Llama 3 scheme) built in code for tests:
 * ids 0..255 are the 256 bytes in GPT-2's byte-to-unicode spelling, then a handful of merges,
 * then the added special tokens. The post_processor prepends `<s>`.
 */

/** GPT-2's reversible byte → printable unicode character table (openai/gpt-2 encoder.py). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return table;
}

/** The byte-level spelling of a UTF-8 string (what the vocab and merges are written in). */
export function byteLevel(text: string): string {
  const table = bytesToUnicode();
  return Array.from(new TextEncoder().encode(text), (b) => table[b]).join('');
}

/** Merges as pairs of byte-level strings, in priority order. */
export const tinyMerges: [string, string][] = [
  ['H', 'e'],
  ['l', 'l'],
  ['He', 'll'],
  ['Hell', 'o'],
  [byteLevel(' '), 'w'],
  ['o', 'r'],
  [byteLevel(' w'), 'or'],
  ['l', 'd'],
  [byteLevel(' wor'), 'ld'],
  // The first two bytes of 4-byte emoji (F0 9F): an emoji is then 3 tokens, the first one partial.
  [byteLevel('\u{1F600}').slice(0, 1), byteLevel('\u{1F600}').slice(1, 2)],
];

export const tinySpecialTokens = ['<s>', '</s>', '<|user|>', '<|assistant|>', '<|end|>'] as const;

/** Builds the parsed tokenizer.json object. */
export function makeTinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, b) => {
    vocab[ch] = b;
  });
  for (const [a, b] of tinyMerges) vocab[a + b] = Object.keys(vocab).length;
  const firstSpecial = Object.keys(vocab).length;
  const addedTokens = tinySpecialTokens.map((content, i) => ({
    id: firstSpecial + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevelStep = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevelStep,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [firstSpecial], tokens: ['<s>'] } },
    },
    decoder: byteLevelStep,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tinyMerges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** A tokenizer_config.json with a small Zephyr-like chat template. */
export function makeTinyTokenizerConfig(chatTemplate: unknown = tinyChatTemplate): Record<string, unknown> {
  return {
    bos_token: '<s>',
    eos_token: { content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    clean_up_tokenization_spaces: false,
    chat_template: chatTemplate,
  };
}

export const tinyChatTemplate =
  "{{ bos_token }}{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";
