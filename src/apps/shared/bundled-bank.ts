/**
 * The knowledge bank that ships with the default model (public/banks/, built by tools/bank/build.ts):
 * installed into IndexedDB through engine.memory.import the first time the apps load that model, with
 * download progress. A bank of that name written for other weights (an older model) is replaced; an
 * interrupted or failed install leaves whatever was stored before (the import is atomic).
 */
import type { Memory3Engine } from '../../index';

export const bankManifestVersion = 1;

/** public/banks/<name>.json: what tools/bank/build.ts built, for which weights. */
export interface BankManifest {
  version: number;
  name: string;
  /** The bank file beside the manifest (engine export format). */
  file: string;
  bytes: number;
  sha256: string;
  /** The weights it was encoded with: SHA-256 of model.safetensors and the engine's model fingerprint. */
  model: { name: string; weightsSha256: string; fingerprint: string };
  codec: string;
  documents: number;
  references: number;
  source: string;
  /** SHA-256 of the knowledge set it was built from (bench/data/qa-heldout.json). */
  knowledgeSha256: string;
  built: { date: string; adapter: string; encodeSeconds: number; referencesPerSecond: number };
  /**
   * Questions the apps offer to try: held-out questions that the engine answered right from this
   * bank when it was built (tools/bank/build.ts asks them), with the answer that it gave.
   */
  examples?: { question: string; answer: string; source: string }[];
}

export interface BundledBankProgress {
  loaded: number;
  total: number;
}

/** Reads and checks a manifest; null when the URL has none (404). */
export async function fetchBankManifest(url: string): Promise<BankManifest | null> {
  const res = await fetch(url);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`bundled bank: ${url} answered HTTP ${res.status}`);
  const m = (await res.json()) as BankManifest;
  if (
    m?.version !== bankManifestVersion ||
    typeof m.name !== 'string' ||
    typeof m.file !== 'string' ||
    typeof m.model?.fingerprint !== 'string'
  ) {
    throw new Error(`bundled bank: ${url} is not a version-${bankManifestVersion} bank manifest`);
  }
  return m;
}

function counted(
  body: ReadableStream<Uint8Array>,
  total: number,
  onProgress?: (p: BundledBankProgress) => void,
): ReadableStream<Uint8Array> {
  let loaded = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        onProgress?.({ loaded, total });
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Makes sure the bank of `manifestUrl` is in the engine's store. Resolves to its name and whether
 * it was installed now; null when there is no manifest or it is for another model (`modelName`).
 */
export async function ensureBundledBank(
  engine: Memory3Engine,
  manifestUrl: string,
  modelName: string,
  opts: { onProgress?: (p: BundledBankProgress) => void; signal?: AbortSignal } = {},
): Promise<{ name: string; installed: boolean; manifest: BankManifest } | null> {
  const manifest = await fetchBankManifest(manifestUrl);
  if (!manifest || manifest.model.name !== modelName) return null;
  const existing = (await engine.memory.list()).find((b) => b.name === manifest.name);
  if (
    existing?.state === 'ready' &&
    existing.modelFingerprint === manifest.model.fingerprint &&
    existing.counts.references === manifest.references
  ) {
    return { name: manifest.name, installed: false, manifest };
  }
  const res = await fetch(new URL(manifest.file, manifestUrl), { signal: opts.signal });
  if (!res.ok || !res.body) throw new Error(`bundled bank: ${manifest.file} answered HTTP ${res.status}`);
  await engine.memory.import(counted(res.body, manifest.bytes, opts.onProgress), {
    name: manifest.name,
    overwrite: existing !== undefined,
  });
  return { name: manifest.name, installed: true, manifest };
}
