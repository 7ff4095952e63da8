/**
 * Incremental detokenization for one generation. Decoding tokens one by one is wrong in two ways:
 * a multi-byte UTF-8 character can span several byte tokens (each alone decodes to U+FFFD), and
 * decoders such as Metaspace drop or add spaces depending on what precedes a token. So, as in
 * Hugging Face text-generation-inference, we decode a short window twice — the tokens already
 * emitted (`prefix`..`read`) and the same window plus the new tokens — and emit the difference, but
 * only once it no longer ends in U+FFFD (an unfinished character).
 */
import type { Tokenizer } from './tokenizer';

/** An unfinished UTF-8 character spans at most 3 bytes, so at most 3 pending tokens; past that a
 *  trailing U+FFFD is genuine (the model produced invalid bytes) and is emitted. */
const maxHeldTokens = 4;

export interface StreamingDecoderOptions {
  /** Drop special tokens from the text (default true: `</s>` and `<|eot_id|>` are not shown). */
  skipSpecialTokens?: boolean;
  /** The last few prompt ids: decoding starts after them, so the first token's leading space is right. */
  contextIds?: ArrayLike<number>;
}

export class StreamingDecoder {
  private readonly ids: number[] = [];
  /** ids[prefixOffset..readOffset) were emitted and are decoded again as left context. */
  private prefixOffset: number;
  private readOffset: number;
  private readonly skipSpecialTokens: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: StreamingDecoderOptions = {},
  ) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
    const context = Array.from(options.contextIds ?? []).slice(-maxHeldTokens);
    this.ids.push(...context);
    this.prefixOffset = 0;
    this.readOffset = context.length;
  }

  /** Add one generated token; returns the new text it completes ('' while a character is unfinished). */
  push(id: number): string {
    this.ids.push(id);
    return this.emit(false);
  }

  /** End of generation: whatever is still held (an unfinished character decodes as U+FFFD). */
  flush(): string {
    return this.emit(true);
  }

  private emit(final: boolean): string {
    if (this.readOffset >= this.ids.length) return '';
    const opts = { skipSpecialTokens: this.skipSpecialTokens };
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), opts);
    const fullText = this.tokenizer.decode(this.ids.slice(this.prefixOffset), opts);
    const held = this.ids.length - this.readOffset;
    if (!final && fullText.endsWith('\uFFFD') && held < maxHeldTokens) return '';
    // Nothing visible yet (e.g. a skipped special token): keep the window and wait for more.
    if (fullText.length <= prefixText.length) return '';
    const delta = fullText.slice(prefixText.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.trim();
    return delta;
  }

  /** Drop ids left of the window so memory stays constant over long generations. */
  private trim(): void {
    if (this.prefixOffset > 64) {
      this.ids.splice(0, this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
  }
}
