/**
 * The per-step counters the bench reports (issue 12 item 7) agree with what the device was
 * actually asked to do, counted here independently by wrapping the command encoders and compute
 * passes the device hands out: dispatchWorkgroups calls, copies, and bytes copied into MAP_READ
 * buffers (the readbacks), per submitted step. GPU sampling reads back 8 bytes a decode step,
 * CPU sampling one logits row (vocab × 4); objects created between steps count as allocations.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { stepStats } from '../../src/engine/step-stats';
import { urlSource } from '../../src/model/source';
import { fixtureUrl } from '../helpers/engine';

interface SeenStep {
  dispatches: number;
  copies: number;
  readbackBytes: number;
}

/** Wraps createCommandEncoder (and each encoder's compute passes) and queue.submit; each submit closes one step. */
function watchDevice(device: GPUDevice) {
  const steps: SeenStep[] = [];
  let cur: SeenStep = { dispatches: 0, copies: 0, readbackBytes: 0 };
  const createEncoder = device.createCommandEncoder;
  device.createCommandEncoder = (desc?: GPUCommandEncoderDescriptor) => {
    const encoder = createEncoder.call(device, desc);
    const beginPass = encoder.beginComputePass,
      copy = encoder.copyBufferToBuffer;
    encoder.beginComputePass = (d?: GPUComputePassDescriptor) => {
      const pass = beginPass.call(encoder, d);
      const dispatch = pass.dispatchWorkgroups;
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        cur.dispatches++;
        dispatch.call(pass, x, y, z);
      };
      return pass;
    };
    encoder.copyBufferToBuffer = ((src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number) => {
      cur.copies++;
      if (dst.usage & GPUBufferUsage.MAP_READ) cur.readbackBytes += size;
      copy.call(encoder, src, srcOffset, dst, dstOffset, size);
    }) as GPUCommandEncoder['copyBufferToBuffer'];
    return encoder;
  };
  const q = device.queue as unknown as Record<string, unknown>;
  const submit = device.queue.submit;
  q.submit = (buffers: GPUCommandBuffer[]) => {
    steps.push(cur);
    cur = { dispatches: 0, copies: 0, readbackBytes: 0 };
    submit.call(device.queue, buffers);
  };
  return {
    steps,
    restore() {
      delete (device as unknown as Record<string, unknown>).createCommandEncoder;
      delete q.submit;
    },
  };
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(urlSource(`${location.origin}${fixtureUrl('llama')}`), { contextLength: 128, prefillChunk: 16 });
});
afterAll(() => engine?.dispose());

const prompt = Array.from({ length: 10 }, (_, i) => 40 + ((i * 17) % 200));
const decodeSteps = 8;
const req = { tokens: prompt, maxTokens: decodeSteps + 1, temperature: 0, ignoreEos: true };

/** A warm-up generation, then a counted one (counters reset, device watched); `onDelta` runs between steps. */
async function counted(onDelta: (i: number) => void = () => {}) {
  engine.resetContext();
  await engine.generate(req);
  engine.resetContext();
  stepStats(engine, true);
  const watch = watchDevice(engine.gpuDevice);
  let i = 0;
  try {
    await engine.generate(req, () => onDelta(i++));
  } finally {
    watch.restore();
  }
  // The 10-token prompt is one prefill step (chunks of 16); then one step per generated token but the last.
  expect(watch.steps.length).toBe(1 + decodeSteps);
  const decode = watch.steps.slice(1);
  const sum = (k: keyof SeenStep) => decode.reduce((a, s) => a + s[k], 0);
  return { stats: stepStats(engine), seen: { dispatches: sum('dispatches'), copies: sum('copies'), readbackBytes: sum('readbackBytes') } };
}

test('GPU sampling: decode dispatches and copies match the device, 8 bytes read back and nothing created per step', async () => {
  engine.debug.cpuSampling = false;
  const { stats, seen } = await counted();
  const d = stats.totals.decode;
  console.log('gpu sampling decode totals', JSON.stringify(d), 'seen', JSON.stringify(seen));
  expect(d.steps).toBe(decodeSteps);
  expect(d.dispatches).toBe(seen.dispatches);
  expect(d.dispatches).toBeGreaterThan(0);
  expect(d.copies).toBe(seen.copies);
  expect(d.readbackBytes).toBe(seen.readbackBytes);
  expect(d.readbackBytes).toBe(8 * decodeSteps);
  expect(d.allocations).toBe(0);
  expect(d.encodeMs).toBeGreaterThan(0);
  // The first token is sampled on the CPU from the prompt's logits row.
  expect(stats.totals.prefill).toMatchObject({ steps: 1, readbackBytes: engine.model.cfg.vocabSize * 4 });
});

test('CPU sampling: a logits row (vocab × 4 bytes) read back per decode step; the layer split adds up to the forward pass', async () => {
  engine.debug.cpuSampling = true;
  try {
    const { stats, seen } = await counted();
    const d = stats.totals.decode;
    expect(d.steps).toBe(decodeSteps);
    expect(d.dispatches).toBe(seen.dispatches);
    expect(d.readbackBytes).toBe(seen.readbackBytes);
    expect(d.readbackBytes).toBe(decodeSteps * engine.model.cfg.vocabSize * 4);
    // A CPU-sampled step is the model's forward pass only: the layers plus embedding, final norm and logits.
    const { layers, dispatchesPerLayer, modelNonLayerDispatches } = stats;
    expect(layers).toBe(engine.model.cfg.numLayers);
    expect(Number.isInteger(dispatchesPerLayer)).toBe(true);
    expect(dispatchesPerLayer).toBeGreaterThan(0);
    expect(modelNonLayerDispatches).toBeGreaterThan(0);
    expect(dispatchesPerLayer! * layers + modelNonLayerDispatches!).toBe(seen.dispatches / decodeSteps);
  } finally {
    engine.debug.cpuSampling = false;
  }
});

test('objects created between decode steps are counted as that step’s allocations', async () => {
  const made: GPUBuffer[] = [];
  // Deltas 0..2 arrive before decode steps 1..3; the last delta comes after the last step.
  const { stats } = await counted((i) => {
    if (i < 3) made.push(engine.gpuDevice.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
  });
  for (const b of made) b.destroy();
  expect(made.length).toBe(3);
  expect(stats.totals.decode.allocations).toBe(3);
});
