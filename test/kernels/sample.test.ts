import { describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeSample } from '../../src/kernels/sample';
import { type SamplingOptions, validateSamplingOptions } from '../../src/sampling/options';
import { SamplerRef as Sampler } from '../reference/sample';
import { Prng } from '../../src/util/prng';
import { randomF32, runStep, seeded, testRunner, uploadF32, uploadU32 } from '../helpers/gpu';

let sharedRunner: Promise<KernelRunner> | null = null;
const runner = (): Promise<KernelRunner> => (sharedRunner ??= testRunner());

async function readU32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Uint32Array> {
  const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, 16);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(staging.getMappedRange(0, 16).slice(0)).subarray(0, n);
  staging.unmap();
  staging.destroy();
  return out;
}

/** Draws `steps` tokens from the same row with the CPU Sampler and the kernel; returns both id lists. */
async function both(logits: Float32Array, options: SamplingOptions, history: number[], steps: number) {
  const run = await runner();
  const d = run.device;
  const o = validateSamplingOptions(options);
  const cpu = new Sampler(options, logits.length);
  const window = o.repetitionWindow === 0 ? history.length : Math.min(o.repetitionWindow, history.length);
  const recent = history.slice(history.length - window);
  const gl = uploadF32(d, logits),
    work = uploadF32(d, new Float32Array(logits.length)),
    ids = uploadU32(d, recent.length ? recent : [0]),
    rng = uploadU32(d, new Prng(options.seed ?? 0).state()),
    out = uploadU32(d, [0xdeadbeef, 7]);
  const want: number[] = [],
    got: number[] = [];
  for (let s = 0; s < steps; s++) {
    want.push(cpu.sample(logits, history));
    await runStep(run, (r) =>
      encodeSample(r, { ...o, logits: gl, work, penaltyIds: ids, rng, out, vocab: logits.length, nPenalty: recent.length }),
    );
    const [tok, flag] = await readU32(d, out, 2);
    expect(flag).toBe(0);
    got.push(tok);
  }
  for (const b of [gl, work, ids, rng, out]) b.destroy();
  return { want, got };
}

/** Logits like a model's: a few strong tokens over a noisy floor. */
function modelish(n: number, seed: number, scale = 3): Float32Array {
  const x = randomF32(n, seed, scale);
  const r = seeded(seed + 1);
  for (let i = 0; i < 8; i++) x[Math.floor(r() * n)] += 8 * r();
  return x;
}

const configs: [string, SamplingOptions][] = [
  ['greedy', { temperature: 0 }],
  ['greedy + penalty', { temperature: 0, repetitionPenalty: 1.3 }],
  ['temperature 1', { temperature: 1 }],
  ['temperature 0.7', { temperature: 0.7 }],
  ['top-k 40', { temperature: 0.8, topK: 40 }],
  ['top-k 1', { temperature: 1, topK: 1 }],
  ['top-p 0.9', { temperature: 1, topP: 0.9 }],
  ['top-p 0.5', { temperature: 0.6, topP: 0.5 }],
  ['min-p 0.05', { temperature: 1, minP: 0.05 }],
  ['top-k + top-p + min-p', { temperature: 0.9, topK: 50, topP: 0.95, minP: 0.02 }],
  ['top-p + min-p', { temperature: 1.2, topP: 0.8, minP: 0.1 }],
  ['penalty + top-p', { temperature: 1, topP: 0.9, repetitionPenalty: 1.2, repetitionWindow: 16 }],
  ['penalty whole history + top-k', { temperature: 1, topK: 20, repetitionPenalty: 0.8, repetitionWindow: 0 }],
];

describe('sample kernel = CPU Sampler', () => {
  for (const [name, opts] of configs) {
    for (const vocab of [1, 7, 100, 1000, 4099]) {
      test(`${name}, vocab ${vocab}`, async () => {
        for (const seed of [1, 2, 3, 42]) {
          const logits = modelish(vocab, seed * 31 + vocab);
          const r = seeded(seed);
          const history = Array.from({ length: 40 }, () => Math.floor(r() * vocab));
          const { want, got } = await both(logits, { ...opts, seed }, history, 6);
          expect(got, `seed ${seed}`).toEqual(want);
        }
      });
    }
  }

  test('vocab 151936: greedy, temperature, top-k, top-p, min-p', async () => {
    const logits = modelish(151936, 5, 4);
    const history = [3, 77, 151935, 1000, 3];
    for (const [, opts] of [configs[0], configs[3], configs[4], configs[6], configs[9], configs[11]]) {
      const { want, got } = await both(logits, { ...opts, seed: 9 }, history, 3);
      expect(got, JSON.stringify(opts)).toEqual(want);
    }
  }, 120_000);

  test('flat rows (mass over tens of thousands of tokens), vocab 32000', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const logits = randomF32(32000, seed, 1);
      for (const opts of [{ temperature: 1 }, { temperature: 1, topP: 0.95 }, { temperature: 1.5, minP: 0.2 }]) {
        const { want, got } = await both(logits, { ...opts, seed }, [], 3);
        expect(got, `seed ${seed} ${JSON.stringify(opts)}`).toEqual(want);
      }
    }
  }, 120_000);

  test('ties go to the lowest id (greedy and top-k)', async () => {
    const logits = new Float32Array(300).fill(-1);
    logits[17] = 2;
    logits[200] = 2;
    logits[5] = 2;
    expect((await both(logits, { temperature: 0 }, [], 1)).got).toEqual([5]);
    const r = await both(logits, { temperature: 1, topK: 2, seed: 3 }, [], 8);
    expect(r.got).toEqual(r.want);
  });

  test('top-p boundary at exactly equal cumulative mass (equal logits, p = 0.5)', async () => {
    const logits = new Float32Array(40).fill(-5);
    for (const i of [3, 11, 20, 33]) logits[i] = 1;
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await both(logits, { temperature: 1, topP: 0.5, seed }, [], 10);
      expect(r.got).toEqual(r.want);
      expect(r.got.every((t) => t === 3 || t === 11 || t === 20)).toBe(true);
    }
  });

  test('NaN in the row sets the error flag', async () => {
    const run = await runner();
    const d = run.device;
    const logits = randomF32(64, 1);
    logits[9] = Number.NaN;
    const out = uploadU32(d, [0, 0]);
    await runStep(run, (r) =>
      encodeSample(r, {
        ...validateSamplingOptions({}),
        logits: uploadF32(d, logits),
        work: uploadF32(d, new Float32Array(64)),
        penaltyIds: uploadU32(d, [0]),
        rng: uploadU32(d, [1, 2, 3, 4]),
        out,
        vocab: 64,
        nPenalty: 0,
      }),
    );
    expect((await readU32(d, out, 2))[1]).toBe(1);
  });
});
