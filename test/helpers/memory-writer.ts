/**
 * Browser-test helpers for the memory writer: a fixture engine with its own KernelRunner and
 * policy, and the fixture's f32 safetensors decoded to float64 for test/reference/memory.ts.
 */
import { expect } from 'vitest';
import { Engine } from '../../src/engine/engine';
import type { LoadOptions } from '../../src/engine/types';
import { KernelRunner } from '../../src/gpu/runner';
import { policyFromConfig, resolvePolicy } from '../../src/memory/policy';
import type { MemoryPolicy } from '../../src/memory/types';
import { MemoryWriter, type MemoryWriterOptions, type WrittenMemory } from '../../src/memory/writer';
import { urlSource } from '../../src/model/source';
import { referenceMemoryRecord } from '../reference/memory_select';
import { referenceModelOf, type ReferenceModel } from '../reference/transformer';
import { expectClose } from './expect-close';
import { seeded } from './gpu';
import type { ReferenceTensor } from '../reference/modelFiles';

export const fixtureUrl = (name: string) => `/test/fixtures/models/${name}/`;

export interface WriterFixture {
  engine: Engine;
  run: KernelRunner;
  policy: MemoryPolicy;
  writer: MemoryWriter;
}

/** Loads fixture `name` and a writer with the fixture's policy (config.json memory3 block) plus overrides. */
export async function loadWriterFixture(
  name: string,
  overrides: Partial<MemoryPolicy> = {},
  opts: MemoryWriterOptions = {},
  load: LoadOptions = {},
): Promise<WriterFixture> {
  const engine = await Engine.load(urlSource(fixtureUrl(name)), load);
  const cfg = engine.model.cfg;
  const policy = resolvePolicy({ numLayers: cfg.numLayers, numKvHeads: cfg.numKvHeads }, policyFromConfig(cfg.memory3), overrides);
  const run = new KernelRunner(engine.model.device);
  return { engine, run, policy, writer: new MemoryWriter(engine.model, run, engine.tokenizer, policy, opts) };
}

export function disposeFixture(f: WriterFixture): void {
  f.writer.destroy();
  f.run.destroy();
  f.engine.dispose();
}

/** F32 tensors of a single-file safetensors fixture, as float64. */
async function fetchTensors(name: string): Promise<Map<string, ReferenceTensor>> {
  const bytes = await (await fetch(`${fixtureUrl(name)}model.safetensors`)).arrayBuffer();
  const view = new DataView(bytes);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 8, headerLength))) as Record<string, any>;
  const tensors = new Map<string, ReferenceTensor>();
  for (const [key, info] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`memory-writer helper: ${key} is ${info.dtype}, only F32 fixtures are read`);
    const [begin, end] = info.data_offsets as [number, number];
    const f32 = new Float32Array(bytes.slice(8 + headerLength + begin, 8 + headerLength + end));
    tensors.set(key, { shape: info.shape, data: Float64Array.from(f32) });
  }
  return tensors;
}

/** The fixture as test/reference/llama.ts's ReferenceModel, read in the browser. */
export async function fetchReferenceModel(name: string): Promise<ReferenceModel> {
  const config = await (await fetch(`${fixtureUrl(name)}config.json`)).json();
  return referenceModelOf(config, await fetchTensors(name), name, false);
}

/** Reads `bytes` of a GPU buffer (for checking that the engine's cache was not touched). */
export async function readBytes(device: GPUDevice, buf: GPUBuffer, bytes: number): Promise<Uint8Array> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Ids below the fixtures' special tokens (322..327). */
export function randomRefs(seed: number, lengths: number[]): number[][] {
  const r = seeded(seed);
  return lengths.map((n) => Array.from({ length: n }, () => Math.floor(r() * 322)));
}

const kvTol = { atol: 1e-4, rtol: 1e-3, nmse: 1e-7 };

/** The writer's records of `refs` against the float64 reference's: identical token choices, K/V within f32 tolerance. */
export async function checkAgainstReference(f: WriterFixture, name: string, refs: number[][]): Promise<WrittenMemory[]> {
  const got = await f.writer.encode(refs);
  const model = await fetchReferenceModel(name);
  const p = f.policy,
    s = f.writer.shape;
  expect(s).toEqual({
    memLayers: p.memoryLayers.length,
    memHeads: p.memoryHeads.length,
    tokensPerHead: p.tokensPerHead,
    headDim: model.headDim,
  });
  refs.forEach((ids, r) => {
    const want = referenceMemoryRecord(model, [...f.writer.prefix], ids, p.memoryLayers, p.memoryHeads, p.tokensPerHead);
    expect(Array.from(got[r].positions), `reference ${r} (${ids.length} tokens): positions`).toEqual(want.positions);
    expectClose(got[r].keys, want.keys, { ...kvTol, label: `reference ${r} keys` });
    expectClose(got[r].values, want.values, { ...kvTol, label: `reference ${r} values` });
    expect(got[r].tokenCount).toBe(ids.length);
  });
  // Different heads keep different tokens (the selection is per head, not one global choice).
  const long = got[refs.length - 1],
    k = p.tokensPerHead;
  const sets = new Set(
    Array.from({ length: s.memLayers * s.memHeads }, (_, v) =>
      Array.from(long.positions.subarray(v * k, (v + 1) * k))
        .sort()
        .join(),
    ),
  );
  expect(sets.size).toBeGreaterThan(1);
  return got;
}
