/**
 * Adapter and device acquisition. Requests the adapter's own maxima for the limits an LLM needs
 * (a model is useless on the 128 MiB default binding size when the adapter can do more), wires
 * `device.lost` and uncaptured errors to callbacks, and turns every failure into a named error.
 */
import { AdapterLimitError, WebGPUUnavailableError } from '../util/errors';
import type { BufferTally } from './buffer-tally';

export type { BufferTally };

export interface GpuFeatures {
  /** `shader-f16`: WGSL f16 arithmetic. Weights stored as packed f16 do not need it. */
  f16: boolean;
  subgroups: boolean;
}

export interface GpuContext {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** Every buffer made through device.createBuffer, counted (soak tests watch it stay flat). */
  readonly buffers: BufferTally;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  readonly adapterInfo: { vendor: string; architecture: string; description: string };
}

export interface RequestGpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Called once if the device is lost (driver reset, OOM kill, explicit destroy()). */
  onLost?: (info: GPUDeviceLostInfo) => void;
  /** Called on validation / out-of-memory errors that no error scope caught. */
  onUncapturedError?: (error: GPUError) => void;
  /** Smallest acceptable maxStorageBufferBindingSize, in bytes (default 128 MiB, WebGPU's default). */
  minStorageBinding?: number;
}

/**
 * A CPU implementation of WebGPU (SwiftShader, llvmpipe, lavapipe, or any fallback adapter): kernels
 * pick barrier-free variants there, since workgroup barriers run slowly on CPUs.
 */
export function isCpuAdapter(device: GPUDevice): boolean {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return false;
  return (
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description} ${info.device}`)
  );
}

const raisedLimits = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

export async function requestGpu(opts: RequestGpuOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGPUUnavailableError(
      'WebGPU is not available in this browser context (navigator.gpu is undefined). Use a recent ' +
        'Chrome/Edge (113+), Safari 26+, or Firefox 141+ on Windows; on Linux start Chrome with ' +
        '--enable-unsafe-webgpu, and serve the page over https or localhost.',
    );
  }
  const adapter =
    (await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' })) ??
    (await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions));
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'navigator.gpu.requestAdapter() returned no adapter: the GPU may be ' +
        'blocklisted or disabled (check chrome://gpu), or WebGPU is off in this browser.',
    );
  }
  const minBinding = opts.minStorageBinding ?? 128 * 1024 * 1024;
  if (adapter.limits.maxStorageBufferBindingSize < minBinding) {
    throw new AdapterLimitError(
      `The GPU adapter allows storage bindings of at most ` +
        `${adapter.limits.maxStorageBufferBindingSize} bytes; this engine needs ${minBinding}.`,
      { limit: 'maxStorageBufferBindingSize', actual: adapter.limits.maxStorageBufferBindingSize, required: minBinding },
    );
  }
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['shader-f16', 'subgroups'] as GPUFeatureName[]) {
    if (adapter.features.has(f)) requiredFeatures.push(f);
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of raisedLimits) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'memory3-web' });
  const buffers = tallyBuffers(device);
  device.lost.then((info) => opts.onLost?.(info));
  device.addEventListener('uncapturederror', (ev) => opts.onUncapturedError?.((ev as GPUUncapturedErrorEvent).error));
  const info = adapter.info;
  return {
    adapter,
    device,
    buffers,
    limits: device.limits,
    features: {
      f16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
    },
    adapterInfo: { vendor: info.vendor, architecture: info.architecture, description: info.description },
  };
}

/** Counts the device's buffers: createBuffer and each buffer's destroy() are wrapped (the same objects otherwise). */
function tallyBuffers(device: GPUDevice): BufferTally {
  const tally: BufferTally = { live: 0, liveBytes: 0, created: 0 };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(descriptor);
    tally.live++;
    tally.created++;
    tally.liveBytes += buffer.size;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) {
        destroyed = true;
        tally.live--;
        tally.liveBytes -= buffer.size;
      }
      destroy();
    };
    return buffer;
  };
  return tally;
}
