/**
 * The knowledge bank shipped with memory3-tiny (public/banks/, built by tools/bank/build.ts): the
 * file is the one its manifest names (size, SHA-256); the apps' installer imports it once; it belongs
 * to the shipped weights (model fingerprint); its records are what the engine's writer makes of the
 * same documents now (a stale bank after retraining fails here); element questions retrieve their
 * element from it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Memory3Engine } from '../../src/index';
import { ensureBundledBank, fetchBankManifest, type BankManifest } from '../../src/apps/shared/bundled-bank';
import { BankStore } from '../../src/memory/store/bank-store';
import { decodeRecord } from '../../src/memory/codec';
import { unpackCodebooks } from '../../src/memory/bank-codec';
import docs from '../fixtures/trained/bank-documents.json';

const manifestUrl = `${location.origin}/banks/memory3-tiny-knowledge.json`;

async function sha256(bytes: ArrayBuffer): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('the bundled memory3-tiny knowledge bank', () => {
  let engine: Memory3Engine;
  let manifest: BankManifest;
  const fresh = `bundled-recheck-${Date.now()}`;
  beforeAll(async () => {
    manifest = (await fetchBankManifest(manifestUrl))!;
    engine = await createEngine({ model: `${location.origin}/models/memory3-tiny/` });
  });
  afterAll(async () => {
    await engine?.memory.delete(fresh).catch(() => {});
    if (manifest) await engine?.memory.delete(manifest.name).catch(() => {});
    await engine?.dispose();
  });

  test('the file is the one the manifest names', async () => {
    expect(manifest).not.toBeNull();
    const res = await fetch(new URL(manifest.file, manifestUrl));
    expect(res.ok).toBe(true);
    const bytes = await res.arrayBuffer();
    expect(bytes.byteLength).toBe(manifest.bytes);
    expect(await sha256(bytes)).toBe(manifest.sha256);
    expect(manifest.references).toBeGreaterThanOrEqual(manifest.documents);
  });

  test('installs once, for the shipped weights, and answers element questions from memory', async () => {
    await engine.memory.delete(manifest.name).catch(() => {});
    const progress: number[] = [];
    const first = await ensureBundledBank(engine, manifestUrl, 'memory3-tiny', { onProgress: (p) => progress.push(p.loaded) });
    expect(first).toMatchObject({ name: manifest.name, installed: true });
    expect(progress[progress.length - 1]).toBe(manifest.bytes);
    const stats = await engine.memory.stats(manifest.name);
    expect(stats.counts.references).toBe(manifest.references);
    expect(stats.counts.records).toBe(manifest.references);
    expect(stats.modelFingerprint).toBe(manifest.model.fingerprint);
    expect((await ensureBundledBank(engine, manifestUrl, 'memory3-tiny'))?.installed).toBe(false);
    expect(await ensureBundledBank(engine, manifestUrl, 'another-model')).toBeNull();

    for (const element of ['actinium', 'barium', 'bromine']) {
      const r = await engine.generate({
        prompt: `What is the atomic number of ${element}?`,
        maxTokens: 4,
        temperature: 0,
        ignoreEos: true,
        memory: { bank: manifest.name },
      }).result;
      expect(r.retrievals![0].references.map((x) => x.source)).toContain(`elements/${element}`);
    }
  });

  test('its records are what the engine writes for the same documents now', async () => {
    await ensureBundledBank(engine, manifestUrl, 'memory3-tiny');
    const codec = { keys: manifest.codec, values: manifest.codec } as never;
    await engine.memory.createBank(fresh, { policy: { codec } });
    const sample = docs.slice(0, 3).map((d) => ({ source: `elements/${d.source}`, text: d.text }));
    await engine.memory.addDocuments(fresh, sample);
    const shipped = await BankStore.open(manifest.name),
      now = await BankStore.open(fresh);
    try {
      const rc = unpackCodebooks(shipped.meta.codec, shipped.meta.shape, shipped.meta.codebooks);
      let compared = 0;
      for (const d of sample) {
        const a = await shipped.referencesBySource(d.source),
          b = await now.referencesBySource(d.source);
        expect(a.map((x) => x.text)).toEqual(b.map((x) => x.text));
        const ra = await shipped.getRecords(a.map((x) => x.id!)),
          rb = await now.getRecords(b.map((x) => x.id!));
        expect(ra.corrupt).toEqual([]);
        for (let i = 0; i < a.length; i++) {
          const x = ra.records.get(a[i].id!)!,
            y = rb.records.get(b[i].id!)!;
          expect([...x.positions]).toEqual([...y.positions]);
          const dx = decodeRecord(rc, x.payload),
            dy = decodeRecord(rc, y.payload);
          let worst = 0,
            scale = 0;
          for (const part of ['keys', 'values'] as const) {
            for (let j = 0; j < dx[part].length; j++) {
              worst = Math.max(worst, Math.abs(dx[part][j] - dy[part][j]));
              scale = Math.max(scale, Math.abs(dy[part][j]));
            }
          }
          // int8 steps are scale/127 per vector: allow one step of rounding difference between GPUs.
          expect(worst).toBeLessThanOrEqual(scale / 100);
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(sample.length);
    } finally {
      shipped.close();
      now.close();
    }
  });
});
