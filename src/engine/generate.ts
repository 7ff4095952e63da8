/**
 * The generation loop: tokenize the request, prefill what the cache does not hold, then sample,
 * detokenize, check stop conditions and feed each new token back, one command encoder per step.
 */
import { Sampler } from '../sampling/sampler';
import { StopMatcher } from '../sampling/stop';
import { applyChatTemplate } from '../tokenizer/chat-template';
import { StreamingDecoder } from '../tokenizer/streaming-decoder';
import { ContextOverflowError, GenerationAbortedError, InvalidOptionsError } from '../util/errors';
import { PlainFeeder, type Feeder } from './feeder';
import { GpuDecode } from './gpu-decode';
import type { Session } from './session';
import type { FinishReason, GenerateRequest, GenerationDelta, GenerationResult } from './types';

/**
 * Records the turn just generated as the session's last turn (null `promptText`: none, the
 * request was not a chat). Re-tokenizing a reply rarely gives back the sampled ids, which would
 * defeat KV reuse from the reply on; so a next prompt that extends this text reuses these ids and
 * tokenizes only the new suffix.
 */
function rememberTurn(session: Session, promptText: string | null, promptIds: number[], out: number[], replyText: string): void {
  if (promptText === null) {
    session.lastTurn = null;
    return;
  }
  const tok = session.tokenizer;
  // Keep the reply's ids up to the first one the caller cannot see in its text (a special token, a cut stop string).
  let k = out.findIndex((t) => tok.isSpecial(t));
  if (k < 0) k = out.length;
  while (k > 0 && !replyText.startsWith(tok.decode(out.slice(0, k), { skipSpecialTokens: true }))) k--;
  session.lastTurn = {
    text: promptText + tok.decode(out.slice(0, k), { skipSpecialTokens: true }),
    ids: [...promptIds, ...out.slice(0, k)],
  };
}

/** The rendered chat prompt for `messages` (null for other request kinds). */
function chatText(session: Session, req: GenerateRequest): string | null {
  if (!req.messages) return null;
  const tok = session.tokenizer;
  return applyChatTemplate(tok.chatTemplate as never, req.messages, {
    addGenerationPrompt: true,
    bosToken: tok.bosToken,
    eosToken: tok.eosToken,
  });
}

/** The prompt token ids of a request: raw tokens, a chat through the template, or text. */
function promptTokens(session: Session, req: GenerateRequest): number[] {
  const given = [req.prompt !== undefined, req.messages !== undefined, req.tokens !== undefined].filter(Boolean).length;
  if (given !== 1) throw new InvalidOptionsError('a request needs exactly one of prompt, messages or tokens');
  const tok = session.tokenizer;
  if (req.tokens) {
    for (const t of req.tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= session.vocabSize) {
        throw new InvalidOptionsError(`token id ${t} is outside the vocabulary [0, ${session.vocabSize})`);
      }
    }
    if (req.tokens.length === 0) throw new InvalidOptionsError('tokens is empty');
    return [...req.tokens];
  }
  if (req.messages) {
    const text = chatText(session, req)!;
    const last = session.lastTurn;
    if (last && text.startsWith(last.text) && text.length > last.text.length) {
      return [...last.ids, ...tok.encode(text.slice(last.text.length), { addSpecialTokens: false })];
    }
    return tok.encode(text, { addSpecialTokens: false });
  }
  if (typeof req.prompt !== 'string') throw new InvalidOptionsError('prompt must be a string');
  const ids = tok.encode(req.prompt, { addSpecialTokens: true });
  if (ids.length === 0) throw new InvalidOptionsError('the prompt is empty (it encodes to no tokens)');
  return ids;
}

export async function runGeneration(
  session: Session,
  req: GenerateRequest,
  onDelta: (d: GenerationDelta) => void,
  signal?: AbortSignal,
  feeder: Feeder = new PlainFeeder(session),
  extraPromptTokens = 0,
): Promise<GenerationResult> {
  const maxTokens = req.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InvalidOptionsError(`maxTokens must be an integer ≥ 1, got ${maxTokens}`);
  const sampler = new Sampler(req, session.vocabSize);
  const stop = new StopMatcher(req.stop ?? []);
  const ids = promptTokens(session, req);
  // Rows the cache may fill: the context, and with explicit memory the model's positions too (its
  // layouts put context row i at RoPE position i + offset; past max_position_embeddings RoPE extrapolates).
  const offset = feeder.positionOffset ?? 0;
  const rows = session.rowLimit(offset);
  if (ids.length + extraPromptTokens >= rows) {
    const why =
      rows < session.contextLength
        ? `the model has ${session.maxPositions} positions and explicit memory shifts the context by ${offset}, so ${rows} rows fit`
        : `the context holds ${session.contextLength}`;
    throw new ContextOverflowError(
      `the prompt has ${ids.length + extraPromptTokens} tokens; ${why} (the prompt must leave room for at least one generated token)`,
      { tokens: ids.length + extraPromptTokens, contextLength: session.contextLength, rows, positionOffset: offset },
    );
  }
  const promptText = chatText(session, req);
  const eos = new Set(session.tokenizer.eosTokenIds);
  const decoder = new StreamingDecoder(session.tokenizer, { contextIds: ids });
  const t0 = performance.now();
  const first = await feeder.prompt(ids, signal);
  const cached = first.cached;
  let logits = first.logits;
  const tPrefill = performance.now();
  const history = [...ids],
    out: number[] = [];
  let text = '',
    finish: FinishReason = 'length',
    tFirst = 0;
  const emit = (piece: string, tokens: number[]) => {
    if (piece || tokens.length) {
      text += piece;
      onDelta({ text: piece, tokens });
    }
  };
  // Checkpoints often pad vocab_size past the tokenizer's ids: those rows are never sampled.
  const usable = Math.min(session.tokenizer.vocabSize, session.vocabSize);
  // After the first token (sampled on the CPU from the prompt's logits), plain decoding samples on
  // the GPU, one step in flight, and reads back only the ids; explicit memory's feeder keeps the CPU sampler.
  const onGpu = feeder instanceof PlainFeeder && !session.debug.cpuSampling;
  let gpu: GpuDecode | null = null;
  let gpuToken: number | null = null;
  try {
    for (;;) {
      let token: number;
      if (gpuToken !== null) token = gpuToken;
      else {
        if (usable < logits.length) logits.fill(-Infinity, usable);
        token = sampler.sample(logits, history);
      }
      if (out.length === 0) tFirst = performance.now();
      if (eos.has(token) && !req.ignoreEos) {
        finish = 'stop';
        break;
      }
      out.push(token);
      history.push(token);
      const r = stop.push(decoder.push(token));
      emit(r.emit, [token]);
      if (r.stopped) {
        finish = 'stop';
        break;
      }
      if (out.length >= maxTokens || session.kv.length + 1 >= rows) break;
      if (signal?.aborted) throw new GenerationAbortedError('generation aborted', { completionTokens: out.length });
      if (onGpu) {
        gpu ??= new GpuDecode(session, sampler, usable, history, sampler.prngState(), session.contextLength);
        // The step after this one feeds the id this one samples, if that id may still be fed.
        gpuToken = await gpu.next(token, () => out.length + 1 < maxTokens && session.kv.length + 1 < rows);
      } else logits = await feeder.next(token, out.length - 1, signal);
    }
  } finally {
    await gpu?.settle();
  }
  if (!stop.stopped) emit(stop.push(decoder.flush()).emit + stop.flush(), []);
  rememberTurn(session, promptText, ids, out, text);
  const tEnd = performance.now();
  const prefilled = ids.length + extraPromptTokens - cached;
  const decodeSteps = Math.max(0, out.length - 1);
  return {
    text,
    tokens: out,
    finishReason: finish,
    usage: {
      promptTokens: ids.length + extraPromptTokens,
      cachedPromptTokens: cached,
      completionTokens: out.length,
      totalTokens: ids.length + extraPromptTokens + out.length,
      timeToFirstTokenMs: (tFirst || tEnd) - t0,
      prefillTokensPerSecond: prefilled / Math.max(1e-3, (tPrefill - t0) / 1000),
      decodeTokensPerSecond: decodeSteps > 0 ? decodeSteps / Math.max(1e-3, (tEnd - tFirst) / 1000) : 0,
    },
  };
}
