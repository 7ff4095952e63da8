import { describe, expect, it } from 'vitest';
import {
  decodeVectors,
  defaultPqSubvectors,
  deserializeCodebook,
  encodeVectors,
  pqCentroids,
  relativeError,
  serializeCodebook,
  trainPq,
  type PqCodebook,
} from '../../src/memory/codec';
import { Prng } from '../../src/util/prng';
import { Gauss, syntheticBank } from '../helpers/memory-bank';
import { expectCodecError } from '../helpers/memory-errors';

const dim = 80;
/** One memory layer of a Memory³-shaped bank: 40 references × 8 heads × 8 tokens = 2560 key vectors. */
const bank = syntheticBank({ memLayers: 1, memHeads: 8, tokensPerHead: 8, headDim: dim }, 40, 11).keys;
const count = bank.length / dim;
const fast = { iterations: 5, sample: 1536 };

function randomBook(matched: boolean): PqCodebook {
  const g = new Gauss(new Prng(5));
  const mean = new Float64Array(dim),
    sq = new Float64Array(dim);
  for (let i = 0; i < bank.length; i++) {
    mean[i % dim] += bank[i] / count;
    sq[i % dim] += bank[i] ** 2 / count;
  }
  const rms = Math.sqrt(sq.reduce((a, b) => a + b, 0) / dim);
  const centroids = new Float32Array(pqCentroids * dim);
  const sub = dim / 16;
  for (let s = 0; s < 16; s++) {
    for (let c = 0; c < pqCentroids; c++) {
      for (let j = 0; j < sub; j++) {
        const ch = s * sub + j;
        const x = g.next();
        centroids[(s * pqCentroids + c) * sub + j] = matched ? mean[ch] + Math.sqrt(sq[ch] - mean[ch] ** 2) * x : rms * x;
      }
    }
  }
  return { dim, subvectors: 16, centroids };
}

function pqError(v: Float32Array, book: PqCodebook): number {
  const out = new Float32Array(v.length).fill(NaN);
  decodeVectors('pq', encodeVectors('pq', v, dim, book), dim, v.length / dim, out, book);
  return relativeError(v, out);
}

describe('product quantization', () => {
  it('default subvectors: slices of at most 6 values (80 → 16, 64 → 16, 96 → 16, 128 → 32, 7 → 7)', () => {
    expect([80, 64, 96, 128, 7].map(defaultPqSubvectors)).toEqual([16, 16, 16, 32, 7]);
  });

  it('reconstruction error falls as subvectors grow, and k-means beats a random codebook by far', () => {
    const errs = [4, 8, 16, 40].map((m) => pqError(bank, trainPq(bank, dim, m, fast)));
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
    // Baselines: 256 Gaussian centroids per subvector, matched to the data's per-channel mean and std
    // (a strong random codebook), and isotropic with the data's overall RMS (a plain one).
    const matched = pqError(bank, randomBook(true));
    const plain = pqError(bank, randomBook(false));
    console.log(
      `pq relative error by subvectors 4/8/16/40: ${errs.map((e) => e.toFixed(4)).join(' / ')}; ` +
        `random codebooks (16): matched ${matched.toFixed(4)}, isotropic ${plain.toFixed(4)}`,
    );
    expect(errs[2]).toBeLessThan(0.7 * matched);
    expect(errs[2]).toBeLessThan(0.4 * plain);
  }, 120_000);

  it('reconstructs exactly when there are no more distinct vectors than centroids', () => {
    const few = bank.slice(0, 100 * dim);
    const book = trainPq(few, dim, 8, { iterations: 4 });
    expect(pqError(few, book)).toBe(0);
    const one = trainPq(bank.slice(0, dim), dim, 16); // a single vector: every centroid duplicates it
    expect(pqError(bank.slice(0, dim), one)).toBe(0);
  });

  it('k-means is deterministic for a seed and changes with the seed', () => {
    const a = trainPq(bank, dim, 16, { ...fast, seed: 3 });
    const b = trainPq(bank, dim, 16, { ...fast, seed: 3 });
    const c = trainPq(bank, dim, 16, { ...fast, seed: 4 });
    expect(Array.from(new Uint32Array(b.centroids.buffer))).toEqual(Array.from(new Uint32Array(a.centroids.buffer)));
    expect(Array.from(c.centroids)).not.toEqual(Array.from(a.centroids));
    expect(Math.abs(pqError(bank, a) - pqError(bank, c))).toBeLessThan(0.02);
  }, 120_000);

  it('encodes each slice to its nearest centroid', () => {
    const book = trainPq(bank, dim, 16, fast);
    const codes = encodeVectors('pq', bank.subarray(0, 50 * dim), dim, book);
    const sub = dim / 16;
    for (let v = 0; v < 50; v++) {
      for (let s = 0; s < 16; s++) {
        let best = Infinity,
          arg = -1;
        for (let c = 0; c < pqCentroids; c++) {
          let d = 0;
          for (let j = 0; j < sub; j++) d += (bank[v * dim + s * sub + j] - book.centroids[(s * pqCentroids + c) * sub + j]) ** 2;
          if (d < best) {
            best = d;
            arg = c;
          }
        }
        expect(codes[v * 16 + s]).toBe(arg);
      }
    }
  }, 60_000);

  it('codebooks serialize and deserialize bit-exactly', () => {
    const book = trainPq(bank, dim, 10, fast);
    const bytes = serializeCodebook(book);
    expect(bytes.length).toBe(20 + pqCentroids * dim * 4);
    const back = deserializeCodebook(bytes);
    expect([back.dim, back.subvectors]).toEqual([dim, 10]);
    expect(Array.from(new Uint32Array(back.centroids.buffer))).toEqual(Array.from(new Uint32Array(book.centroids.buffer)));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(deserializeCodebook(shifted.subarray(1)).centroids).toEqual(book.centroids);
  }, 60_000);
});

describe('product quantization errors', () => {
  const small = bank.slice(0, 300 * dim);
  const book = trainPq(small, dim, 16, { iterations: 2 });
  it('subvectors that do not divide dim', () => {
    expectCodecError(() => trainPq(small, dim, 14), 'must divide dim 80', '14');
    expectCodecError(() => trainPq(small, dim, 0), 'must divide');
  });
  it('NaN training vectors, empty training set, bad options', () => {
    const bad = small.slice();
    bad[123] = NaN;
    expectCodecError(() => trainPq(bad, dim, 16), 'element 123');
    expectCodecError(() => trainPq(new Float32Array(0), dim, 16), 'at least 1');
    expectCodecError(() => trainPq(small, dim, 16, { sample: 0 }), 'sample');
    expectCodecError(() => trainPq(small, dim, 16, { iterations: 1.5 }), 'iterations');
  });
  it('a codebook of the wrong dim, or a payload of the wrong length', () => {
    expectCodecError(() => encodeVectors('pq', bank.subarray(0, 40), 40, book), 'codebook dim', '40', '80');
    expectCodecError(() => decodeVectors('pq', new Uint8Array(17), dim, 1, new Float32Array(dim), book), 'payload length', '16', '17');
  });
  it('malformed serialized codebooks', () => {
    const bytes = serializeCodebook(book);
    expectCodecError(() => deserializeCodebook(bytes.subarray(0, 10)), 'length');
    expectCodecError(() => deserializeCodebook(bytes.subarray(0, bytes.length - 4)), 'length');
    const badMagic = bytes.slice();
    badMagic[0] ^= 1;
    expectCodecError(() => deserializeCodebook(badMagic), 'magic');
    const badVersion = bytes.slice();
    badVersion[4] = 2;
    expectCodecError(() => deserializeCodebook(badVersion), 'version', '2');
    const badSub = bytes.slice();
    badSub[12] = 7;
    expectCodecError(() => deserializeCodebook(badSub), 'must divide dim 80', '7');
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(20 + 4 * 9, NaN, true);
    expectCodecError(() => deserializeCodebook(nan), 'centroid element 9');
  });
});
