/**
 * `npm run bank:build [-- --codec f16|int8|int4 --limit N]`: the prebuilt memory bank of the trained
 * model's knowledge set. The knowledge set (bench/data/qa-heldout.json, written by
 * tools/train/qa_set.py: the held-out fictional entities and chemical elements, whose facts the model
 * never saw in training) is encoded by the engine itself, in Chromium (SwiftShader without a
 * GPU), through engine.memory.addDocuments, then exported in the engine's bank file format to
 * public/banks/<model>-knowledge.m3bank with a manifest (<same>.json) that records the model's and
 * the file's SHA-256, so the apps and the tests can tell a bank that belongs to other weights.
 * The file is written to a temporary name and renamed: an interrupted build leaves the old bank.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright';
import { runOnPage } from '../../bench/lib/browser';
import { filesRoute, startBenchServer } from '../../bench/lib/server';
import { repoRoot } from '../fixtures/writeFixtures';
import type { CodecName } from '../../src/memory/types';
import type { BuildOptions, BuildResult, ExampleCandidate } from './page';
import { bankManifestVersion, type BankManifest } from '../../src/apps/shared/bundled-bank';

const model = 'memory3-tiny';
const knowledgeFile = join(repoRoot, 'bench/data/qa-heldout.json');
const cacheDir = join(repoRoot, 'tools/bank/.cache');
const outDir = join(repoRoot, 'public/banks');
const sliceBytes = 4 << 20;

/** Example candidates: held-out questions of these relations, in this order (the apps show a few kinds). */
const exampleRelations = [
  'heldout_entities/birthplace',
  'elements/symbol',
  'heldout_entities/capital',
  'heldout_entities/profession',
  'heldout_entities/country',
];

function exampleCandidates(json: string): ExampleCandidate[] {
  const set = JSON.parse(json) as { questions: { set: string; relation: string; question: string; answer: string; source: string }[] };
  return exampleRelations
    .flatMap((key) => set.questions.filter((q) => `${q.set}/${q.relation}` === key).slice(0, 8))
    .map((q) => ({ question: q.question, answer: q.answer, source: q.source, relation: q.relation }));
}

/** The documents of the held-out set ({ source, text }), checked. */
export function knowledgeDocuments(json: string): { source: string; text: string }[] {
  const set = JSON.parse(json) as { documents?: unknown };
  if (!Array.isArray(set.documents)) throw new Error(`${knowledgeFile}: needs a documents array`);
  return set.documents.map((d: { source?: unknown; text?: unknown }, i: number) => {
    if (typeof d?.source !== 'string' || typeof d?.text !== 'string')
      throw new Error(`${knowledgeFile}: document ${i} needs string source and text`);
    return { source: d.source, text: d.text };
  });
}

function parseArgs(argv: string[]): { codec: CodecName; limit: number | null } {
  let codec: CodecName = 'int8';
  let limit: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i],
      v = argv[i + 1];
    if (a === '--codec' && (v === 'f16' || v === 'int8' || v === 'int4')) {
      codec = v;
      i++;
    } else if (a === '--limit' && /^\d+$/.test(v ?? '')) {
      limit = Number(v);
      i++;
    } else throw new Error(`bank:build: unknown or incomplete argument ${a} (known: --codec f16|int8|int4, --limit N)`);
  }
  return { codec, limit };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function fetchFile(page: Page, size: number, log: (l: string) => void): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += sliceBytes) {
    const b64 = await page.evaluate(
      ([s, e]) => (window as unknown as { memory3BankBuilder: { slice(s: number, e: number): string } }).memory3BankBuilder.slice(s, e),
      [at, Math.min(size, at + sliceBytes)] as const,
    );
    out.set(Buffer.from(b64, 'base64'), at);
  }
  log(`bank: ${(size / 2 ** 20).toFixed(1)} MiB read from the page`);
  return out;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const { codec, limit } = parseArgs(process.argv.slice(2));
  if (!existsSync(knowledgeFile))
    throw new Error(`bank:build: ${knowledgeFile} is missing: run tools/train/qa_set.py first (see tools/train/README.md)`);
  const set = readFileSync(knowledgeFile, 'utf8'); // the manifest records this file's SHA-256
  const docs = knowledgeDocuments(set);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, 'documents.json'), JSON.stringify(docs));
  log(`knowledge set: ${docs.length} documents${limit !== null ? ` (first ${limit} only)` : ''}; codec ${codec}`);

  const server = await startBenchServer(cacheDir);
  try {
    const options: BuildOptions = {
      modelUrl: `${server.url}/models/${model}/`,
      documentsUrl: `${server.url}${filesRoute}documents.json`,
      bank: `${model}-knowledge-build`,
      codec,
      limit,
      candidates: limit === null ? exampleCandidates(set) : [],
      examples: 3,
    };
    const { result } = await runOnPage(server.url, { path: '/tools/bank/page.html', global: 'memory3BankBuilder' }, log, async (page) => {
      const r = await page.evaluate(
        (o) => (window as unknown as { memory3BankBuilder: { build(o: BuildOptions): Promise<BuildResult> } }).memory3BankBuilder.build(o),
        options,
      );
      return { ...r, file: await fetchFile(page, r.bytes, log) };
    });
    const weights = readFileSync(join(repoRoot, 'public/models', model, 'model.safetensors'));
    const knowledge = readFileSync(knowledgeFile);
    const name = limit === null ? `${model}-knowledge` : `${model}-knowledge-first${limit}`;
    const dir = limit === null ? outDir : cacheDir;
    mkdirSync(dir, { recursive: true });
    const manifest: BankManifest = {
      version: bankManifestVersion,
      name,
      file: `${name}.m3bank`,
      bytes: result.file.byteLength,
      sha256: sha256(result.file),
      model: { name: model, weightsSha256: sha256(weights), fingerprint: result.modelFingerprint },
      codec,
      documents: result.documents,
      references: result.references,
      source: 'bench/data/qa-heldout.json (held out of training): fictional entities and chemical elements',
      knowledgeSha256: sha256(knowledge),
      built: {
        date: new Date().toISOString(),
        adapter: result.adapter,
        encodeSeconds: Math.round(result.encodeMs / 1000),
        referencesPerSecond: Number(result.referencesPerSecond.toFixed(1)),
      },
      examples: result.examples,
    };
    const path = join(dir, manifest.file);
    writeFileSync(`${path}.partial`, result.file);
    renameSync(`${path}.partial`, path);
    writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(manifest, null, 1)}\n`);
    log(`bank: ${path} (${result.references} references, ${(result.file.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  } finally {
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
