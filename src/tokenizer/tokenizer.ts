/**
 * Wrapper over `@huggingface/tokenizers` (tokenizer.json in pure JS): encode, decode, special-token
 * lookups and the end-of-sequence ids the engine stops on. Every failure is a TokenizerError.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../util/errors';

export interface EncodeOptions {
  /** Let tokenizer.json's post_processor add BOS/EOS. False for text that already holds them (chat templates). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop tokens marked `special` in tokenizer.json's added_tokens. */
  skipSpecialTokens?: boolean;
}

export interface TokenizerLoadOptions {
  /** config.json / generation_config.json `eos_token_id` (one id or a list); merged into `eosTokenIds`. */
  eosTokenId?: number | readonly number[] | null;
}

/** tokenizer_config.json writes special tokens as a string or as an AddedToken object. */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Token ids must be non-negative integers near the number of tokens: the tokenizer library sizes its
 * tables by the largest id, so one hostile id of 2^31 would allocate (and loop over) billions of slots.
 */
function checkTokenIds(json: Record<string, unknown>): void {
  const model = isPlainObject(json.model) ? json.model : {};
  if (model.vocab !== undefined && !isPlainObject(model.vocab) && !Array.isArray(model.vocab)) {
    throw new TokenizerError(`tokenizer.json: model.vocab must be an object (token → id) or a list, got ${typeof model.vocab}`, {
      field: 'model.vocab',
    });
  }
  const vocab = isPlainObject(model.vocab) ? Object.values(model.vocab) : [];
  const added = Array.isArray(json.added_tokens) ? json.added_tokens.map((t) => (isPlainObject(t) ? t.id : undefined)) : [];
  const limit = 2 * (vocab.length + added.length) + 4096;
  for (const [where, ids] of [
    ['model.vocab', vocab],
    ['added_tokens', added],
  ] as const) {
    const bad = ids.find((id) => typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= limit);
    if (bad !== undefined || ids.includes(undefined)) {
      throw new TokenizerError(
        `tokenizer.json: ${where} holds the id ${JSON.stringify(bad)}; ids must be integers in 0..${limit - 1} for ${vocab.length + added.length} tokens`,
        { field: where, id: bad === undefined ? null : (bad as never) },
      );
    }
  }
}

export class Tokenizer {
  /** Largest token id + 1 (base vocab and added tokens). */
  readonly vocabSize: number;
  /** BOS string from tokenizer_config.json, or null. */
  readonly bosToken: string | null;
  readonly bosTokenId: number | null;
  /** EOS string from tokenizer_config.json, or null. */
  readonly eosToken: string | null;
  /** Ids that end generation: tokenizer_config's eos_token plus the model config's eos_token_id. */
  readonly eosTokenIds: readonly number[];
  /** tokenizer_config.json `chat_template` as found (string, list of {name, template}, or null). */
  readonly chatTemplate: unknown;
  private readonly specialIds: Set<number>;

  private constructor(
    private readonly inner: HfTokenizer,
    config: Record<string, unknown>,
    options: TokenizerLoadOptions,
  ) {
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.specialIds = new Set();
    for (const [id, token] of inner.get_added_tokens_decoder()) if (token.special) this.specialIds.add(id);
    this.bosToken = tokenContent(config.bos_token);
    this.bosTokenId = this.bosToken === null ? null : (inner.token_to_id(this.bosToken) ?? null);
    this.eosToken = tokenContent(config.eos_token);
    this.eosTokenIds = collectEosIds(this.eosToken === null ? undefined : inner.token_to_id(this.eosToken), options);
    this.chatTemplate = config.chat_template ?? null;
  }

  /**
   * Words held by the BPE model's word cache (@huggingface/tokenizers keeps an LRU of at most 10,000
   * words); 0 for models without one. Long-session tests count it apart from the rest of the heap.
   */
  get cachedWords(): number {
    return (this.inner as unknown as { model?: { cache?: { cache?: Map<unknown, unknown> } } }).model?.cache?.cache?.size ?? 0;
  }

  /** Empties the BPE word cache (it refills as words recur; tokenization is unchanged). */
  clearWordCache(): void {
    (this.inner as unknown as { model?: { clear_cache?: () => void } }).model?.clear_cache?.();
  }

  /** Build from parsed tokenizer.json and tokenizer_config.json (null when the model has none). */
  static fromJSON(tokenizerJson: unknown, tokenizerConfigJson: unknown | null, options: TokenizerLoadOptions = {}): Tokenizer {
    if (!isPlainObject(tokenizerJson)) throw new TokenizerError('tokenizer.json: expected a JSON object');
    if (tokenizerConfigJson !== null && !isPlainObject(tokenizerConfigJson)) {
      throw new TokenizerError('tokenizer_config.json: expected a JSON object or null');
    }
    const given = (tokenizerConfigJson ?? {}) as Record<string, unknown>;
    // transformers ≥ 4.45 defaults clean_up_tokenization_spaces to false ("a ." stays "a ."); the JS
    // library defaults to true, so say it explicitly. A tokenizer_config that sets it wins.
    const config = { ...given, clean_up_tokenization_spaces: given.clean_up_tokenization_spaces ?? false };
    checkTokenIds(tokenizerJson);
    let inner: HfTokenizer;
    try {
      inner = new HfTokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TokenizerError(`tokenizer.json could not be loaded: ${(err as Error).message}`, {
        modelType: (tokenizerJson.model as { type?: unknown } | undefined)?.type ?? null,
      });
    }
    return new Tokenizer(inner, config, options);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${typeof text}`);
    let ids: number[];
    try {
      ids = this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
    } catch (err) {
      throw new TokenizerError(`encode failed: ${(err as Error).message}`, { textLength: text.length });
    }
    const bad = ids.findIndex((id) => id === undefined || id === null);
    if (bad >= 0) {
      throw new TokenizerError('encode produced a token with no id (tokenizer.json has no unk_token)', { position: bad });
    }
    const odd = ids.findIndex((id) => !Number.isSafeInteger(id) || id < 0);
    if (odd >= 0)
      throw new TokenizerError(`encode produced the id ${JSON.stringify(ids[odd])}, not a token id (a malformed tokenizer.json vocab)`, {
        position: odd,
      });
    return ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    const list = Array.from(ids);
    for (let i = 0; i < list.length; i++) this.checkId(list[i], `decode: ids[${i}]`);
    try {
      return this.inner.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
    } catch (err) {
      throw new TokenizerError(`decode failed: ${(err as Error).message}`, { count: list.length });
    }
  }

  /** Id of an exact token string (added tokens included), or null when absent. */
  tokenToId(token: string): number | null {
    return this.inner.token_to_id(token) ?? null;
  }

  /** Token string of an id (byte-level tokens come back in their GPT-2 unicode form), or null. */
  idToToken(id: number): string | null {
    return this.inner.id_to_token(id) ?? null;
  }

  /** True for ids marked `special` in tokenizer.json's added_tokens. */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** True when generating `id` should end the sequence. */
  isEos(id: number): boolean {
    return this.eosTokenIds.includes(id);
  }

  private checkId(id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.inner.id_to_token(id) === undefined) {
      throw new TokenizerError(`${what}: token id ${id} is not in the vocabulary (size ${this.vocabSize})`, { id });
    }
  }
}

function collectEosIds(configEos: number | undefined, options: TokenizerLoadOptions): number[] {
  const ids: number[] = [];
  const add = (id: number) => {
    if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`eos_token_id ${id} is not a valid token id`);
    if (!ids.includes(id)) ids.push(id);
  };
  if (configEos !== undefined) add(configEos);
  const extra = options.eosTokenId;
  if (typeof extra === 'number') add(extra);
  else if (Array.isArray(extra)) for (const id of extra) add(id);
  return ids;
}
