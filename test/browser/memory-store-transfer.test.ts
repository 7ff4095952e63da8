/** Bank export/import: one streamed file, byte-identical re-export, and every broken file → a named error with nothing left behind. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createBank, deleteBank, exportBank, importBank, listBanks, openBank, type ImportProgress } from '../../src/memory/store/index';
import { BankExistsError, BankFormatError, StorageQuotaError, TruncatedFileError } from '../../src/util/errors';
import {
  bankDatabases,
  chunkedStream,
  currentDb,
  makeItems,
  rawContents,
  readAll,
  simulateQuota,
  testMeta,
  uniqueBankName,
} from '../helpers/memory-store';

const made: string[] = [];
const track = (name: string) => {
  made.push(name);
  return name;
};
afterEach(async () => {
  for (const name of made.splice(0)) await deleteBank(name).catch(() => {});
});

/** A bank with 600 references (> two export batches), records on most, vectors on some, documents, codebooks, retriever state. */
async function fillSource(name: string) {
  const store = await createBank(name, testMeta({ codebooks: Uint8Array.from({ length: 777 }, (_, i) => (i * 13) & 0xff) }));
  for (let b = 0; b < 6; b++) {
    const items = makeItems(1000 + b, 100, `doc-${b}`, { vectors: b % 2 === 0 });
    if (b === 3) for (const it of items.slice(0, 10)) delete it.record;
    await store.putBatch(items, { source: `doc-${b}`, status: b === 5 ? 'partial' : 'done', hash: `h${b}` });
  }
  await store.updateMeta({ retrieverState: { kind: 'lexical', terms: ['a', 'b'], df: new Uint32Array([3, 1, 4]) } });
  store.close();
}

function sameContents(a: Awaited<ReturnType<typeof rawContents>>, b: Awaited<ReturnType<typeof rawContents>>) {
  const { name: _a, ...metaA } = a.meta;
  const { name: _b, ...metaB } = b.meta;
  expect(metaB).toEqual(metaA);
  expect(b.references).toEqual(a.references);
  expect(b.records).toEqual(a.records);
  expect(b.vectors).toEqual(a.vectors);
  expect(b.documents).toEqual(a.documents);
}

async function noPartialBank(name: string) {
  expect(await bankDatabases(name)).toEqual([]);
  expect((await listBanks()).map((s) => s.name)).not.toContain(name);
}

const sourceName = uniqueBankName('export-src');
let file: Uint8Array<ArrayBuffer>;

describe('bank export / import', () => {
  beforeAll(async () => {
    await fillSource(sourceName);
    file = await readAll(exportBank(sourceName));
  });
  afterAll(() => deleteBank(sourceName));

  test('export streams in chunks; import gives identical contents; re-export is byte-identical', async () => {
    const chunks: number[] = [];
    const reader = exportBank(sourceName).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value.byteLength);
    expect(chunks.length).toBeGreaterThan(3);
    expect(Math.max(...chunks)).toBeLessThan(file.length / 2);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(file.length);

    const copy = track(uniqueBankName('export-copy'));
    const progress: ImportProgress[] = [];
    const store = await importBank(chunkedStream(file, 1000), { name: copy, onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress[progress.length - 1].references).toBe(600);
    const [src, dst] = [await rawContents(sourceName), await rawContents(copy)];
    sameContents(src, dst);
    expect(store.meta.codebooks).toEqual((await openBank(sourceName)).meta.codebooks);
    const state = store.meta.retrieverState as { df: Uint32Array };
    expect(state.df).toBeInstanceOf(Uint32Array);
    expect(Array.from(state.df)).toEqual([3, 1, 4]);
    const recs = await store.getRecords(src.records.map((r) => r.id));
    expect(recs.corrupt).toEqual([]);
    expect(recs.records.size).toBe(590);
    store.close();

    // Same name back (overwrite: a new database, then the directory switched to it) → the very same bytes.
    const back = await importBank(new Blob([file]), { name: sourceName, overwrite: true });
    back.close();
    expect(await bankDatabases(sourceName)).toEqual([await currentDb(sourceName)]);
    const again = await readAll(exportBank(sourceName));
    expect(again.length).toBe(file.length);
    expect(again.every((b, i) => b === file[i])).toBe(true);
  });

  test('truncated files → TruncatedFileError with the offset, no partial bank', async () => {
    const cuts = [0, 5, 12, 40, Math.floor(file.length / 3), Math.floor(file.length / 2) + 1, file.length - 20, file.length - 1];
    for (const cut of cuts) {
      const name = uniqueBankName('trunc');
      const err = await importBank(chunkedStream(file.slice(0, cut), 4096), { name }).catch((e) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(TruncatedFileError);
      expect(err.details.offset).toBeLessThanOrEqual(cut);
      await noPartialBank(name);
    }
  });

  test('flipped bytes → BankFormatError (or TruncatedFileError when a length grows), no partial bank', async () => {
    const at = [3, 9, 14, 30, Math.floor(file.length / 4), Math.floor(file.length / 2), file.length - 10, file.length - 3];
    for (const pos of at) {
      const bad = file.slice();
      bad[pos] ^= 0x10;
      const name = uniqueBankName('flip');
      const err = await importBank(new Blob([bad]), { name }).catch((e) => e);
      expect(err.constructor === BankFormatError || err.constructor === TruncatedFileError, `flip at ${pos}: ${err}`).toBe(true);
      await noPartialBank(name);
    }
    const payloadFlip = file.slice();
    payloadFlip[Math.floor(file.length / 2)] ^= 1;
    const err = await importBank(new Blob([payloadFlip]), { name: uniqueBankName('flip') }).catch((e) => e);
    expect(err).toBeInstanceOf(BankFormatError);
    expect(err.message).toMatch(/checksum mismatch .*offset \d+/);
  });

  test('an existing bank is untouched by a refused or failed import', async () => {
    const name = track(uniqueBankName('existing'));
    const store = await createBank(name, testMeta({ modelFingerprint: 'existing' }));
    await store.putBatch(makeItems(7, 4, 'keep'));
    store.close();
    const before = await rawContents(name);
    await expect(importBank(new Blob([file]), { name })).rejects.toBeInstanceOf(BankExistsError);
    const cut = file.slice(0, Math.floor(file.length * 0.7));
    await expect(importBank(new Blob([cut]), { name, overwrite: true })).rejects.toBeInstanceOf(TruncatedFileError);
    expect(await rawContents(name)).toEqual(before);
    expect(await bankDatabases(name)).toEqual([await currentDb(name)]);
    const reopened = await openBank(name, { modelFingerprint: 'existing' });
    expect(reopened.meta.counts.references).toBe(4);
    reopened.close();
  });

  test('quota exceeded during import → StorageQuotaError, no partial bank', async () => {
    const name = uniqueBankName('import-quota');
    const restore = simulateQuota(500);
    try {
      await expect(importBank(new Blob([file]), { name })).rejects.toBeInstanceOf(StorageQuotaError);
    } finally {
      restore();
    }
    await noPartialBank(name);
  });

  test('quota exceeded during an overwriting import → StorageQuotaError, the old bank untouched', async () => {
    const name = track(uniqueBankName('no-room'));
    const store = await createBank(name, testMeta());
    await store.putBatch(makeItems(8, 3, 'keep'));
    store.close();
    const before = await rawContents(name);
    const restore = simulateQuota(900);
    try {
      await expect(importBank(new Blob([file]), { name, overwrite: true })).rejects.toBeInstanceOf(StorageQuotaError);
    } finally {
      restore();
    }
    expect(await rawContents(name)).toEqual(before);
    expect(await bankDatabases(name)).toEqual([await currentDb(name)]);
  });

  test('a writer waits for a running export, so the file is one consistent snapshot', async () => {
    const name = track(uniqueBankName('export-lock'));
    const store = await createBank(name, testMeta());
    for (let b = 0; b < 3; b++) await store.putBatch(makeItems(40 + b, 200, `d${b}`));
    const reader = exportBank(name).getReader();
    const parts: Uint8Array[] = [(await reader.read()).value!];
    let written = false;
    const write = store.putBatch(makeItems(50, 5, 'late')).then(() => {
      written = true;
    });
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      expect(written).toBe(false);
      parts.push(r.value);
    }
    await write;
    expect(store.meta.counts.references).toBe(605);
    const copy = track(uniqueBankName('export-lock-copy'));
    const imported = await importBank(new Blob(parts as BlobPart[]), { name: copy });
    expect(imported.meta.counts.references).toBe(600);
    imported.close();
    store.close();
  });

  test('an empty bank exports and imports', async () => {
    const name = track(uniqueBankName('empty'));
    (await createBank(name, testMeta({ vectorDim: null }))).close();
    const bytes = await readAll(exportBank(name));
    const copy = track(uniqueBankName('empty-copy'));
    const store = await importBank(new Blob([bytes]), { name: copy });
    expect(store.meta.counts).toEqual({ references: 0, records: 0, vectors: 0, documents: 0 });
    expect(store.meta.vectorDim).toBeNull();
    store.close();
  });

  test('not a bank file → BankFormatError', async () => {
    const name = uniqueBankName('garbage');
    const junk = new TextEncoder().encode('PK\u0003\u0004 definitely not a memory bank file');
    const err = await importBank(new Blob([junk]), { name }).catch((e) => e);
    expect(err).toBeInstanceOf(BankFormatError);
    expect(err.message).toContain('magic');
    await noPartialBank(name);
  });
});
