/**
 * Browser-test helpers for the memory writer: a fixture engine with its own KernelRunner and
 * policy, and the fixture's f32 safetensors decoded to float64 for test/reference/memory.ts.
 */
import { Engine } from '../../src/engine/engine';
import type { LoadOptions } from '../../src/engine/types';
import { KernelRunner } from '../../src/gpu/runner';
import { policyFromConfig, resolvePolicy } from '../../src/memory/policy';
import type { MemoryPolicy } from '../../src/memory/types';
import { MemoryWriter, type MemoryWriterOptions } from '../../src/memory/writer';
import { urlSource } from '../../src/model/source';
import { layerRopeOf, layerWindowsOf, type ReferenceModel } from '../reference/transformer';
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

/** The fixture as test/reference/llama.ts's ReferenceModel (plain RoPE only), read in the browser. */
export async function fetchReferenceModel(name: string): Promise<ReferenceModel> {
  const config = await (await fetch(`${fixtureUrl(name)}config.json`)).json();
  if (config.rope_scaling) throw new Error('memory-writer helper: rope_scaling is not handled here');
  const t = await fetchTensors(name);
  const get = (key: string) => {
    const x = t.get(key);
    if (!x) throw new Error(`missing ${key}`);
    return x;
  };
  const heads = config.num_attention_heads,
    headDim = config.head_dim ?? config.hidden_size / heads;
  const invFreq = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / config.rope_theta ** ((2 * i) / headDim));
  const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => {
    const p = `model.layers.${l}`;
    return {
      inputNorm: get(`${p}.input_layernorm.weight`).data,
      postNorm: get(`${p}.post_attention_layernorm.weight`).data,
      q: get(`${p}.self_attn.q_proj.weight`),
      k: get(`${p}.self_attn.k_proj.weight`),
      v: get(`${p}.self_attn.v_proj.weight`),
      o: get(`${p}.self_attn.o_proj.weight`),
      qBias: t.get(`${p}.self_attn.q_proj.bias`)?.data,
      kBias: t.get(`${p}.self_attn.k_proj.bias`)?.data,
      vBias: t.get(`${p}.self_attn.v_proj.bias`)?.data,
      qNorm: t.get(`${p}.self_attn.q_norm.weight`)?.data,
      kNorm: t.get(`${p}.self_attn.k_norm.weight`)?.data,
      gate: get(`${p}.mlp.gate_proj.weight`),
      up: get(`${p}.mlp.up_proj.weight`),
      down: get(`${p}.mlp.down_proj.weight`),
    };
  });
  const embed = get('model.embed_tokens.weight');
  return {
    config,
    hidden: config.hidden_size,
    heads,
    kvHeads: config.num_key_value_heads,
    headDim,
    eps: config.rms_norm_eps,
    invFreq,
    layerRope: layerRopeOf(config),
    layerWindows: layerWindowsOf(config),
    embed,
    layers,
    finalNorm: get('model.norm.weight').data,
    lmHead: config.tie_word_embeddings ? embed : get('lm_head.weight'),
  };
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
