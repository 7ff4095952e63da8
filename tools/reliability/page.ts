/**
 * The reliability run's page (tools/reliability/page.html): the store and the engine, driven by
 * tools/reliability/run.ts, which kills the whole browser while the page writes. `window.reliability`
 * starts writes (progress in `window.reliability.progress`) and checks banks after a restart.
 */
import { createEngine, type Memory3Engine } from '../../src/index';
import { BankRetriever } from '../../src/memory/bank-retriever';
import { createBank, deleteBank, exportBank, importBank, listBanks, openBank } from '../../src/memory/store/index';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { bankDatabases, checkBank, currentDb, makeItems, testMeta } from '../../test/helpers/memory-store';

/** `digest`: SHA-256 of the bank's contents (names and timestamps aside); `texts`: of its references alone. */
export interface BankDigest {
  name: string;
  digest: string;
  texts: string;
  references: number;
  indexed: boolean | null;
}

const docs = (n: number) =>
  [0, 1].map((d) => ({
    source: `doc-${d}.txt`,
    text: Array.from({ length: n }, (_, i) => `The kelp${d}x${i} is item ${i} of list ${d}, by the sea.`).join(' '),
  }));
const policy = { referenceLength: 24, tokensPerHead: 4, memoriesPerRetrieval: 2, retrievalInterval: 24 };
let engine: Memory3Engine | null = null;
const state = { progress: 0, error: null as string | null, done: false };

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Runs a write in the background; the runner polls progress and kills the browser mid-way. */
function background(run: () => Promise<unknown>): void {
  Object.assign(state, { progress: 0, error: null, done: false });
  run().then(
    () => {
      state.done = true;
    },
    (e: Error) => {
      state.error = `${e.name}: ${e.message}`;
      state.done = true;
    },
  );
}

async function theEngine(): Promise<Memory3Engine> {
  engine ??= await createEngine({ model: '/test/fixtures/models/llama/', contextLength: 256 });
  return engine;
}

const api = {
  state,
  /** A bank with `batches` × 256 store-made references (no GPU): the import source, and the "old" contents. */
  async makeBank(name: string, batches: number, fingerprint: string): Promise<void> {
    await deleteBank(name).catch(() => {});
    const s = await createBank(name, testMeta({ modelFingerprint: fingerprint }));
    for (let b = 0; b < batches; b++)
      await s.putBatch(makeItems(100 + b, 256, `src-${b}`), { source: `src-${b}`, status: 'done', hash: `h${b}` });
    s.close();
  },
  /** The bank's export file, base64 (to import it into another profile). */
  async exportFile(name: string): Promise<string> {
    const bytes = new Uint8Array(await new Response(exportBank(name)).arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(bin);
  },
  startImportFile(base64: string, name: string, overwrite: boolean): void {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    background(async () =>
      (
        await importBank(new Blob([bytes]), {
          name,
          overwrite,
          onProgress: (p) => {
            state.progress = p.references;
          },
        })
      ).close(),
    );
  },
  startImport(from: string, name: string, overwrite: boolean): void {
    background(async () =>
      (
        await importBank(exportBank(from), {
          name,
          overwrite,
          onProgress: (p) => {
            state.progress = p.references;
          },
        })
      ).close(),
    );
  },
  async createEncodingBank(name: string): Promise<void> {
    await (await theEngine()).memory.createBank(name, { policy });
  },
  startEncoding(name: string, lines: number): void {
    background(async () =>
      (await theEngine()).memory.addDocuments(name, docs(lines), {
        onProgress: (p) => {
          state.progress = p.referencesDone;
        },
      }),
    );
  },
  async encode(name: string, lines: number): Promise<{ resumed: number; references: number }> {
    const r = await (await theEngine()).memory.addDocuments(name, docs(lines));
    return { resumed: r.resumed, references: r.references };
  },
  /** The full consistency check, then a digest of what the bank holds (names and timestamps aside). */
  async digest(name: string): Promise<BankDigest | null> {
    await listBanks(); // sweeps what a killed writer left behind
    if (!(await listBanks()).some((b) => b.name === name)) {
      const left = await bankDatabases(name);
      if (left.length) throw new Error(`bank ${name} is not listed, yet its databases ${left.join(', ')} remain`);
      return { name, digest: 'absent', texts: 'absent', references: 0, indexed: null };
    }
    const raw = await checkBank(name);
    const essence = {
      fingerprint: raw.meta.modelFingerprint,
      counts: raw.meta.counts,
      bytes: raw.meta.bytes,
      references: raw.references.map((r) => [r.source, r.start, r.end, r.text]),
      records: raw.records.map((r) => [r.id, r.checksum]),
      documents: raw.documents.map((d) => [d.source, d.status, d.referenceIds.length]),
    };
    let indexed: boolean | null = null;
    const store = await openBank(name);
    if ((store.meta.retrieverState as { kind?: string } | undefined)?.kind === 'lexical') {
      const retriever = await BankRetriever.open(store, (j) => Tokenizer.fromJSON(j, null));
      indexed = raw.references.every((r) => retriever.has(r.id));
      retriever.close();
    }
    store.close();
    const dbs = await bankDatabases(name);
    if (dbs.length !== 1 || dbs[0] !== (await currentDb(name)))
      throw new Error(`bank ${name}: databases ${dbs.join(', ')} after the sweep`);
    return {
      name,
      digest: await sha256(JSON.stringify(essence)),
      texts: await sha256(JSON.stringify(essence.references)),
      references: raw.references.length,
      indexed,
    };
  },
  async usage(): Promise<number> {
    return (await navigator.storage.estimate()).usage ?? 0;
  },
  async banks(): Promise<string[]> {
    return (await listBanks()).map((b) => b.name);
  },
};

(window as unknown as { reliability: typeof api }).reliability = api;
export type ReliabilityPage = typeof api;
