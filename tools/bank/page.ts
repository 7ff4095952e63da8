/**
 * The bank builder's page (tools/bank/page.html): `window.memory3BankBuilder.build(options)` loads a
 * model into the engine, encodes the documents into a fresh bank through engine.memory (the same
 * writer the apps use), exports it and keeps the file in the page; `slice(start, end)` hands it to
 * tools/bank/build.ts in base64 pieces. Progress goes to the console with the `bench:` prefix.
 */
import { createEngine, type Memory3Engine } from '../../src/index';
import { exactMatch } from '../../bench/scenarios/qa-page';
import type { CodecName } from '../../src/memory/types';

export interface ExampleCandidate {
  question: string;
  answer: string;
  source: string;
  relation: string;
}

export interface BuildOptions {
  modelUrl: string;
  documentsUrl: string;
  bank: string;
  codec: CodecName;
  limit: number | null;
  /** Held-out questions to try on the built bank; the first one answered right per relation becomes an example. */
  candidates: ExampleCandidate[];
  examples: number;
}

export interface BuildResult {
  bytes: number;
  documents: number;
  references: number;
  encodeMs: number;
  referencesPerSecond: number;
  adapter: string;
  modelFingerprint: string;
  examples: { question: string; answer: string; source: string }[];
  /** Candidates asked, and how many of them the engine answered right. */
  tried: { asked: number; right: number };
}

const log = (line: string) => {
  console.log(`bench: ${line}`);
  document.getElementById('log')?.append(`${line}\n`);
};

let file: Uint8Array | null = null;

async function build(o: BuildOptions): Promise<BuildResult> {
  const res = await fetch(o.documentsUrl);
  if (!res.ok) throw new Error(`bank builder: ${o.documentsUrl} answered HTTP ${res.status}`);
  let docs = (await res.json()) as { source: string; text: string }[];
  if (o.limit !== null) docs = docs.slice(0, o.limit);
  const engine = await createEngine({ model: o.modelUrl });
  try {
    log(`engine: ${engine.info.architecture} on ${engine.info.adapter.vendor} ${engine.info.adapter.architecture}`);
    await engine.memory.createBank(o.bank, { overwrite: true, policy: { codec: { keys: o.codec, values: o.codec } } });
    let lastLog = 0;
    const r = await engine.memory.addDocuments(o.bank, docs, {
      onProgress: (p) => {
        if (p.phase !== 'encode' || performance.now() - lastLog < 10_000) return;
        lastLog = performance.now();
        log(`writer: ${p.referencesDone}/${p.references} references of ${p.documents} documents`);
      },
    });
    log(`writer: ${r.references} references in ${(r.ms / 1000).toFixed(0)} s (${r.referencesPerSecond.toFixed(1)}/s)`);
    const { examples, tried } = await pickExamples(engine, o);
    log(
      `examples: ${tried.right}/${tried.asked} candidate questions answered right; offering ${examples.map((e) => JSON.stringify(e.question)).join(', ')}`,
    );
    const stats = await engine.memory.stats(o.bank);
    file = new Uint8Array(await new Response(await engine.memory.export(o.bank)).arrayBuffer());
    await engine.memory.delete(o.bank);
    const a = engine.info.adapter;
    return {
      bytes: file.byteLength,
      documents: r.documents,
      references: r.references,
      encodeMs: r.ms,
      referencesPerSecond: r.referencesPerSecond,
      adapter: `${a.vendor} ${a.architecture}`,
      modelFingerprint: stats.modelFingerprint,
      examples,
      tried,
    };
  } finally {
    await engine.dispose();
  }
}

/** Asks the candidates as a user of the apps would (chat message, greedy, the bank's default policy). */
async function pickExamples(engine: Memory3Engine, o: BuildOptions) {
  const examples: BuildResult['examples'] = [],
    relations = new Set<string>();
  let right = 0;
  for (const c of o.candidates) {
    const r = await engine.generate({
      messages: [{ role: 'user', content: c.question }],
      maxTokens: 16,
      temperature: 0,
      memory: { bank: o.bank },
    }).result;
    if (!exactMatch(r.text, c.answer)) continue;
    right++;
    if (examples.length < o.examples && !relations.has(c.relation)) {
      relations.add(c.relation);
      examples.push({ question: c.question, answer: r.text.trim(), source: c.source });
    }
  }
  return { examples, tried: { asked: o.candidates.length, right } };
}

function slice(start: number, end: number): string {
  if (!file) throw new Error('bank builder: nothing built yet');
  const part = file.subarray(start, end);
  let s = '';
  for (let i = 0; i < part.length; i += 0x8000) s += String.fromCharCode(...part.subarray(i, i + 0x8000));
  return btoa(s);
}

(window as unknown as { memory3BankBuilder: unknown }).memory3BankBuilder = { build, slice };
