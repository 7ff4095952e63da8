/**
 * Question answering from explicit memory, measured in the page through the public API only:
 * createEngine → memory.createBank / addDocuments (the held-out documents, under each codec) →
 * generate({ messages, memory }) per question, greedy, until `</s>` or a newline. Modes, as
 * tools/train/evaluate.py: none (the question alone), memory (the model's policy, with its
 * relative-score cut), memory_all (minRelativeScore null: memoriesPerRetrieval references), rag (the
 * references memory mode retrieved, their text in the user message before the question).
 * Exact match: the reply starts with the answer (exactMatch below, qa.py's exact_match).
 */
import { createEngine, type Memory3Engine, type RetrievalEvent } from '../../src/index';
import type { CodecName } from '../../src/memory/types';

export interface QaQuestion {
  set: string;
  relation: string;
  question: string;
  answer: string;
  source: string;
}
export interface QaSet {
  documents: { source: string; text: string }[];
  questions: QaQuestion[];
}

export interface QaPageOptions {
  modelUrl: string;
  setUrl: string;
  codecs: CodecName[];
  /** Questions per set (null: all). */
  limit: number | null;
  maxTokens: number;
}

export interface ModeFigures {
  right: Record<string, number>;
  total: Record<string, number>;
  goldRetrieved: number;
  spliced: number;
  ms: number;
}
export interface QaPageResult {
  adapter: string;
  modelFingerprint: string;
  policy: unknown;
  questions: number;
  encode: Record<string, { references: number; seconds: number; bytes: number }>;
  modes: Record<string, ModeFigures>;
  examples: { mode: string; question: string; answer: string; reply: string; memories: string[] }[];
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** The reply starts with the answer (case-folded, without its final full stop), then a non-alphanumeric or the end. */
export function exactMatch(reply: string, answer: string): boolean {
  const r = norm(reply),
    a = norm(answer).replace(/\.$/, '');
  return r.startsWith(a) && (r.length === a.length || !/[\p{L}\p{N}]/u.test(r[a.length]));
}

function limitPerSet(qs: QaQuestion[], limit: number | null): QaQuestion[] {
  if (limit === null) return qs;
  const seen = new Map<string, number>();
  return qs.filter((q) => {
    const n = (seen.get(q.set) ?? 0) + 1;
    seen.set(q.set, n);
    return n <= limit;
  });
}

async function ask(engine: Memory3Engine, content: string, maxTokens: number, bank: string | null, policy?: Record<string, unknown>) {
  const r = await engine.generate({
    messages: [{ role: 'user', content }],
    maxTokens,
    temperature: 0,
    stop: ['\n'],
    ...(bank ? { memory: { bank, ...(policy ? { policy } : {}) } } : {}),
  }).result;
  return { text: r.text, retrievals: r.retrievals ?? ([] as RetrievalEvent[]) };
}

export async function qaScenario(o: QaPageOptions, log: (line: string) => void): Promise<QaPageResult> {
  const res = await fetch(o.setUrl);
  if (!res.ok) throw new Error(`qa bench: ${o.setUrl} answered HTTP ${res.status}`);
  const set = (await res.json()) as QaSet;
  const questions = limitPerSet(set.questions, o.limit);
  const config = (await (await fetch(new URL('config.json', o.modelUrl))).json()) as { memory3?: unknown };
  const engine = await createEngine({ model: o.modelUrl, contextLength: 512 });
  const out: QaPageResult = {
    adapter: `${engine.info.adapter.vendor} ${engine.info.adapter.architecture}`,
    modelFingerprint: '',
    policy: config.memory3 ?? null,
    questions: questions.length,
    encode: {},
    modes: {},
    examples: [],
  };
  const score = (mode: string, q: QaQuestion, reply: string, refs: RetrievalEvent['references'], ms: number) => {
    const m = (out.modes[mode] ??= { right: {}, total: {}, goldRetrieved: 0, spliced: 0, ms: 0 });
    const ok = exactMatch(reply, q.answer) ? 1 : 0;
    for (const key of ['all', q.set, `${q.set}/${q.relation}`]) {
      m.right[key] = (m.right[key] ?? 0) + ok;
      m.total[key] = (m.total[key] ?? 0) + 1;
    }
    m.goldRetrieved += refs.some((r) => r.source === q.source) ? 1 : 0;
    m.spliced += refs.length;
    m.ms += ms;
    if (out.examples.filter((e) => e.mode === mode).length < 4)
      out.examples.push({ mode, question: q.question, answer: q.answer, reply, memories: refs.map((r) => r.text.slice(0, 60)) });
  };
  try {
    for (const [ci, codec] of o.codecs.entries()) {
      const bank = `qa-bench-${codec}`;
      await engine.memory.createBank(bank, { overwrite: true, policy: { codec: { keys: codec, values: codec } } });
      const t0 = performance.now();
      let last = 0;
      const added = await engine.memory.addDocuments(bank, set.documents, {
        onProgress: (p) => {
          if (p.phase === 'encode' && performance.now() - last > 15_000) {
            last = performance.now();
            log(`${codec}: ${p.referencesDone}/${p.references} references`);
          }
        },
      });
      const stats = await engine.memory.stats(bank);
      out.encode[codec] = { references: added.references, seconds: (performance.now() - t0) / 1000, bytes: stats.bytes };
      out.modelFingerprint = stats.modelFingerprint;
      log(`${codec}: ${added.references} references encoded in ${out.encode[codec].seconds.toFixed(0)} s`);
      const modes = ci === 0 ? ['memory', 'memory_all', 'rag', 'none'] : ['memory'];
      for (const [qi, q] of questions.entries()) {
        const t = performance.now();
        const mem = await ask(engine, q.question, o.maxTokens, bank);
        const refs = mem.retrievals[0]?.references ?? [];
        const mode = (name: string) => (ci === 0 ? name : `memory_${codec}`);
        score(mode('memory'), q, mem.text, refs, performance.now() - t);
        if (modes.includes('memory_all')) {
          const t1 = performance.now();
          const all = await ask(engine, q.question, o.maxTokens, bank, { minRelativeScore: null });
          score('memory_all', q, all.text, all.retrievals[0]?.references ?? [], performance.now() - t1);
        }
        if (modes.includes('rag')) {
          const t2 = performance.now();
          const rag = await ask(engine, [...refs.map((r) => r.text), q.question].join('\n'), o.maxTokens, null);
          score('rag', q, rag.text, refs, performance.now() - t2);
        }
        if (modes.includes('none')) {
          const t3 = performance.now();
          score('none', q, (await ask(engine, q.question, o.maxTokens, null)).text, [], performance.now() - t3);
        }
        if ((qi + 1) % 100 === 0) log(`${codec}: ${qi + 1}/${questions.length} questions`);
      }
      await engine.memory.delete(bank);
    }
    return out;
  } finally {
    await engine.dispose();
  }
}
