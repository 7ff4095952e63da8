/** Browser-test helpers: one shared device, upload/readback, NaN poison, seeded inputs. */
import { requestGpu, type GpuContext } from '../../src/gpu/device';
import { KernelRunner } from '../../src/gpu/runner';

let shared: Promise<GpuContext> | null = null;

export function testGpu(): Promise<GpuContext> {
  shared ??= requestGpu({ onUncapturedError: (e) => console.error('uncaptured GPU error:', e.message) });
  return shared;
}

export async function testRunner(): Promise<KernelRunner> {
  return new KernelRunner((await testGpu()).device);
}

const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export function uploadF32(device: GPUDevice, data: ArrayLike<number>, label = 'test'): GPUBuffer {
  const arr = Float32Array.from(data);
  const buf = device.createBuffer({ label, size: Math.max(16, Math.ceil(arr.byteLength / 4) * 4), usage: storage });
  device.queue.writeBuffer(buf, 0, arr);
  return buf;
}

export function uploadU32(device: GPUDevice, data: ArrayLike<number>, label = 'test'): GPUBuffer {
  const arr = Uint32Array.from(data);
  const buf = device.createBuffer({ label, size: Math.max(16, arr.byteLength), usage: storage });
  device.queue.writeBuffer(buf, 0, arr);
  return buf;
}

/** A buffer of `n` f32 filled with NaN, so unwritten outputs are caught. */
export function poisonF32(device: GPUDevice, n: number, label = 'out'): GPUBuffer {
  return uploadF32(device, new Float32Array(Math.max(n, 4)).fill(NaN), label);
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number, offsetElems = 0): Promise<Float32Array> {
  const bytes = n * 4;
  const staging = device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, offsetElems * 4, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Runs `record` as one step on a fresh runner and waits for the GPU, surfacing validation errors. */
export async function runStep(run: KernelRunner, record: (run: KernelRunner) => void): Promise<void> {
  const device = run.device;
  device.pushErrorScope('validation');
  run.begin('test');
  record(run);
  run.submit();
  const err = await device.popErrorScope();
  if (err) throw new Error(`GPU validation error: ${err.message}`);
  await device.queue.onSubmittedWorkDone();
}

export { randomF32, seeded } from './random';
