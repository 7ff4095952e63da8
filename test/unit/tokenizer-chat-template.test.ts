import { describe, expect, it } from 'vitest';
import { applyChatTemplate, fallbackChatFormat, resolveChatTemplate } from '../../src/tokenizer/chat-template';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { InvalidOptionsError, TokenizerError } from '../../src/util/errors';
import { makeTinyTokenizerConfig, makeTinyTokenizerJson, tinyChatTemplate } from '../helpers/tiny-tokenizer';

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi 😀' },
];
const tokens = { bosToken: '<s>', eosToken: '</s>' };

describe('applyChatTemplate', () => {
  it('renders a string template', () => {
    expect(applyChatTemplate(tinyChatTemplate, messages, tokens)).toBe('<s><|system|>\nBe brief.<|end|>\n<|user|>\nHi 😀<|end|>\n');
  });

  it('appends the generation prompt when asked', () => {
    const text = applyChatTemplate(tinyChatTemplate, messages, { ...tokens, addGenerationPrompt: true });
    expect(text.endsWith('<|end|>\n<|assistant|>\n')).toBe(true);
  });

  it('picks "default" from the list form, or another name when asked', () => {
    const list = [
      { name: 'tool_use', template: 'TOOLS {{ messages | length }}' },
      { name: 'default', template: tinyChatTemplate },
    ];
    expect(applyChatTemplate(list, messages, tokens)).toBe(applyChatTemplate(tinyChatTemplate, messages, tokens));
    expect(applyChatTemplate(list, messages, { templateName: 'tool_use' })).toBe('TOOLS 2');
    expect(() => applyChatTemplate(list, messages, { templateName: 'nope' })).toThrow(TokenizerError);
    expect(() => resolveChatTemplate([{ name: 'x' }])).toThrow(TokenizerError);
    expect(() => resolveChatTemplate(42)).toThrow(TokenizerError);
  });

  it('passes extra variables, trims blocks like transformers, and supports loop/namespace idioms', () => {
    const template =
      '{% set ns = namespace(n=0) %}{% for m in messages %}\n{% set ns.n = ns.n + 1 %}\n' +
      '{{ loop.index }}:{{ m.role | upper }}={{ m.content | trim }}|\n{% endfor %}{{ ns.n }}/{{ date_string }}';
    const text = applyChatTemplate(
      template,
      [
        { role: 'user', content: ' a ' },
        { role: 'assistant', content: 'b' },
      ],
      {
        extra: { date_string: '26 Jul 2024' },
      },
    );
    // trim_blocks drops the newline after a block tag, not after an expression.
    expect(text).toBe('1:USER=a|\n2:ASSISTANT=b|\n2/26 Jul 2024');
  });

  it("turns raise_exception into a TokenizerError carrying the template's message", () => {
    const template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok";
    expect(() => applyChatTemplate(template, messages, tokens)).toThrow(TokenizerError);
    expect(() => applyChatTemplate(template, messages, tokens)).toThrow(/System role not supported/);
    expect(applyChatTemplate(template, messages.slice(1), tokens)).toBe('ok');
  });

  it('reports templates that do not parse', () => {
    expect(() => applyChatTemplate('{% for m in messages %}', messages)).toThrow(/chat template does not parse/);
  });

  it('falls back to <|role|>\\ncontent\\n without a template, or throws when strict', () => {
    const expected = '<s><|system|>\nBe brief.\n<|user|>\nHi 😀\n<|assistant|>\n';
    expect(applyChatTemplate(null, messages, { ...tokens, addGenerationPrompt: true })).toBe(expected);
    expect(fallbackChatFormat(messages, { addGenerationPrompt: false })).toBe('<|system|>\nBe brief.\n<|user|>\nHi 😀\n');
    expect(() => applyChatTemplate(undefined, messages, { strict: true })).toThrow(TokenizerError);
  });

  it('rejects malformed messages', () => {
    expect(() => applyChatTemplate(tinyChatTemplate, [{ role: 'user' }] as never)).toThrow(InvalidOptionsError);
    expect(() => applyChatTemplate(tinyChatTemplate, 'hi' as never)).toThrow(InvalidOptionsError);
  });

  it('works with the Tokenizer: template from tokenizer_config, encoded without adding BOS again', () => {
    const tok = Tokenizer.fromJSON(makeTinyTokenizerJson(), makeTinyTokenizerConfig());
    const prompt = applyChatTemplate(tok.chatTemplate as string, messages.slice(1), {
      bosToken: tok.bosToken,
      eosToken: tok.eosToken,
      addGenerationPrompt: true,
    });
    const ids = tok.encode(prompt, { addSpecialTokens: false });
    expect(ids.filter((i) => i === tok.bosTokenId).length).toBe(1);
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids.at(-2)).toBe(tok.tokenToId('<|assistant|>'));
    expect(tok.decode(ids)).toBe(prompt);
  });
});
