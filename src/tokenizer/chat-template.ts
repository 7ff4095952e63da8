/**
 * Chat templates: tokenizer_config.json's Jinja `chat_template`, rendered with `@huggingface/jinja`
 * the way transformers' `apply_chat_template` renders it (variables `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token`, plus any `extra`).
 *
 * The rendered text already holds BOS and the role markers: encode it with `addSpecialTokens: false`.
 */
import { Template } from '@huggingface/jinja';
import { InvalidOptionsError, TokenizerError } from '../util/errors';

export interface ChatMessage {
  role: string;
  content: string;
}

/** The list form of `chat_template` (several named templates; "default" is the chat one). */
export interface NamedChatTemplate {
  name: string;
  template: string;
}

export type ChatTemplateSource = string | readonly NamedChatTemplate[] | null | undefined;

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, so the model writes the reply. */
  addGenerationPrompt?: boolean;
  bosToken?: string | null;
  eosToken?: string | null;
  /** More template variables (tools, date_string, …); they cannot override the four above. */
  extra?: Record<string, unknown>;
  /** Throw TokenizerError when there is no template instead of using the fallback format. */
  strict?: boolean;
  /** Which entry of the list form to use (default "default"). */
  templateName?: string;
}

/**
 * Picks the template text: a string as is; from the list form the entry named `name`
 * (default "default"). Returns null when there is no template.
 */
export function resolveChatTemplate(source: unknown, name = 'default'): string | null {
  if (source === null || source === undefined) return null;
  if (typeof source === 'string') return source;
  if (!Array.isArray(source)) {
    throw new TokenizerError(`chat_template must be a string or a list of {name, template}, got ${typeof source}`);
  }
  for (const entry of source as unknown[]) {
    const e = entry as Partial<NamedChatTemplate> | null;
    if (!e || typeof e.name !== 'string' || typeof e.template !== 'string') {
      throw new TokenizerError('chat_template list entries must be {name: string, template: string}');
    }
  }
  const found = (source as NamedChatTemplate[]).find((e) => e.name === name);
  if (!found) {
    const names = (source as NamedChatTemplate[]).map((e) => e.name);
    throw new TokenizerError(`chat_template has no template named "${name}"`, { available: names });
  }
  return found.template;
}

/**
 * Fallback for models that ship no chat template: each message as `<|role|>\ncontent\n`, after
 * `bosToken` when given, and `<|assistant|>\n` as the generation prompt. It is only a convention
 * (the shape of Zephyr/Phi-style templates); a base model was not trained on it.
 */
export function fallbackChatFormat(messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
  let text = options.bosToken ?? '';
  for (const m of messages) text += `<|${m.role}|>\n${m.content}\n`;
  if (options.addGenerationPrompt) text += '<|assistant|>\n';
  return text;
}

const compiled = new Map<string, Template>();

function compile(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (err) {
      throw new TokenizerError(`chat template does not parse: ${(err as Error).message}`);
    }
    if (compiled.size >= 8) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidOptionsError('messages must be an array of {role, content}');
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object' || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new InvalidOptionsError(`messages[${i}] must be {role: string, content: string}`, { index: i });
    }
  });
}

/** Renders `messages` into the prompt text the model was trained on. */
export function applyChatTemplate(
  template: ChatTemplateSource,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  checkMessages(messages);
  const text = resolveChatTemplate(template, options.templateName);
  if (text === null) {
    if (options.strict) throw new TokenizerError('the model has no chat template (tokenizer_config.json chat_template)');
    return fallbackChatFormat(messages, options);
  }
  const program = compile(text);
  try {
    return program.render({
      ...options.extra,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: options.bosToken ?? '',
      eos_token: options.eosToken ?? '',
    });
  } catch (err) {
    throw new TokenizerError(`chat template failed: ${(err as Error).message}`);
  }
}
