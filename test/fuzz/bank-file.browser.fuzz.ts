/**
 * Hostile bank files (Chromium, real IndexedDB): raw byte mutations (caught by the frame checksums)
 * and structural ones re-signed with valid checksums (frames dropped, repeated, swapped, retyped,
 * their JSON or binary payloads edited, trailer counts changed), so the import's own checks are what
 * is tested. Each file is imported under a fresh name: a named error and no database left, or a bank
 * that passes the full consistency check.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { ByteReader, FORMAT_VERSION, Frame, FrameWriter, MAGIC, readFrame, u32s } from '../../src/memory/store/container';
import { createBank, deleteBank, exportBank, importBank, listBanks } from '../../src/memory/store/index';
import { bankDatabases, checkBank, makeItems, readAll, testMeta, uniqueBankName } from '../helpers/memory-store';
import { fuzzSeed, hostile, hostileValue, mutatedBytes, tally } from './harness';

interface F {
  kind: number;
  payload: Uint8Array;
}
const source = uniqueBankName('fuzz-src');
let file: Uint8Array;
let frames: F[];
const t = tally('bank-file');

beforeAll(async () => {
  const s = await createBank(source, testMeta({ codebooks: Uint8Array.from({ length: 40 }, (_, i) => i) }));
  await s.putBatch(makeItems(3, 6, 'a'), { source: 'a', status: 'done', hash: 'ha' });
  await s.putBatch(makeItems(4, 5, 'b', { vectors: false }), { source: 'b', status: 'partial', hash: 'hb' });
  await s.updateMeta({ retrieverState: { kind: 'lexical', index: new Uint8Array([1, 2, 3]) } });
  s.close();
  file = await readAll(exportBank(source));
  const r = new ByteReader(new Blob([file as Uint8Array<ArrayBuffer>]).stream().getReader(), 'fuzz');
  await r.read(MAGIC.length + 4, 'preamble');
  frames = [];
  for (let f = await readFrame(r, 'fuzz'); ; f = await readFrame(r, 'fuzz')) {
    frames.push({ kind: f.kind, payload: f.payload.slice() });
    if (f.kind === Frame.trailer) break;
  }
});
afterAll(async () => {
  await deleteBank(source);
  await commands.writeJson('test/fuzz/.results/bank-file.json', t);
});

/** A file from frames, every frame checksum valid; the trailer's file checksum recomputed unless told. */
function sign(fs: F[], keepTrailerCrc: boolean): Uint8Array {
  const w = new FrameWriter();
  w.raw(MAGIC);
  w.raw(u32s(FORMAT_VERSION));
  for (const f of fs) {
    if (f.kind === Frame.trailer && f.payload.byteLength === 24 && !keepTrailerCrc) {
      const p = f.payload.slice();
      new DataView(p.buffer).setUint32(20, w.fileCrc, true);
      w.frame(f.kind, [p]);
    } else w.frame(f.kind, [f.payload]);
  }
  return w.take();
}

const enc = new TextEncoder(),
  dec = new TextDecoder();
function editJson(payload: Uint8Array, key: string, value: unknown): Uint8Array {
  try {
    const o = JSON.parse(dec.decode(payload)) as Record<string, unknown>;
    const target = key.startsWith('meta.') && o.meta ? (o.meta as Record<string, unknown>) : o;
    target[key.replace(/^meta\./, '')] = value;
    return enc.encode(JSON.stringify(o));
  } catch {
    return payload;
  }
}

const keys = [
  'id',
  'source',
  'text',
  'referenceIds',
  'status',
  'format',
  'blobs',
  'meta.counts',
  'meta.nextId',
  'meta.shape',
  'meta.vectorDim',
  'meta.bytes',
  'meta.name',
  'meta.policy',
  'meta.codec',
  'meta.state',
];
const structural = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('repeat' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('swap' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('kind' as const), at: fc.nat(), kind: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ op: fc.constant('json' as const), at: fc.nat(), key: fc.constantFrom(...keys), value: hostileValue }),
    fc.record({ op: fc.constant('bytes' as const), at: fc.nat(), seed: fc.nat() }),
    fc.record({ op: fc.constant('trailer' as const), word: fc.integer({ min: 0, max: 5 }), value: fc.nat() }),
  ),
  { minLength: 1, maxLength: 3 },
);

type Edits = typeof structural extends fc.Arbitrary<infer T> ? T : never;

function applyStructural(edits: Edits): F[] {
  const fs = frames.map((f) => ({ ...f }));
  for (const e of edits) {
    const i = 'at' in e ? e.at % fs.length : fs.length - 1;
    if (e.op === 'drop') fs.splice(i, 1);
    else if (e.op === 'repeat') fs.splice(i, 0, { ...fs[i] });
    else if (e.op === 'swap' && i + 1 < fs.length) [fs[i], fs[i + 1]] = [fs[i + 1], fs[i]];
    else if (e.op === 'kind') fs[i] = { ...fs[i], kind: e.kind };
    else if (e.op === 'json') fs[i] = { ...fs[i], payload: editJson(fs[i].payload, e.key, e.value) };
    else if (e.op === 'bytes' && fs[i].payload.byteLength) {
      const p = fs[i].payload.slice();
      p[e.seed % p.byteLength] ^= 1 + (e.seed % 255);
      fs[i] = { ...fs[i], payload: p };
    } else if (e.op === 'trailer') {
      const last = fs.findIndex((f) => f.kind === Frame.trailer && f.payload.byteLength === 24);
      if (last >= 0) {
        const p = fs[last].payload.slice();
        new DataView(p.buffer).setUint32(4 * e.word, e.value, true);
        fs[last] = { ...fs[last], payload: p };
      }
    }
  }
  return fs;
}

test('hostile bank files: a named error with nothing left behind, or a consistent bank', async () => {
  const input = fc.oneof(
    { weight: 1, arbitrary: mutatedBytes(file) },
    { weight: 2, arbitrary: fc.tuple(structural, fc.boolean()).map(([edits, keep]) => sign(applyStructural(edits), keep)) },
  );
  await fc.assert(
    fc.asyncProperty(input, async (bytes) => {
      const name = uniqueBankName('fuzz');
      const store = await hostile(t, () => importBank(new Blob([bytes as Uint8Array<ArrayBuffer>]), { name }));
      if (store) {
        store.close();
        await checkBank(name);
        await deleteBank(name);
      }
      expect(await bankDatabases(name)).toEqual([]);
    }),
    { numRuns: 1500, seed: fuzzSeed, endOnFailure: true },
  );
  expect((await listBanks()).filter((b) => b.name.startsWith('test-fuzz-') && b.name !== source)).toEqual([]);
  expect(t.accepted).toBeGreaterThan(0);
});
