/**
 * Causal GQA attention over the KV cache, with optional explicit-memory slots in one joint softmax.
 *
 * Both decode (m = 1, long context) and prefill (m up to a few hundred) use one barrier-free kernel:
 * a thread per (query row, head, key split) streams its keys with an online softmax. When m·nHeads
 * alone gives enough threads, one split per row writes the output directly (one dispatch); otherwise
 * the keys are split and attention_merge combines the partials by log-sum-exp (flash decoding).
 */
import source from '../../shaders/kernels/attention.wgsl?raw';
import mergeSource from '../../shaders/kernels/attention_merge.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { InvalidOptionsError } from '../util/errors';
import { ArgCheck } from './check';

export const attentionKernel = {
  source,
  params: defineParams([
    ['m', 'u32'],
    ['start_pos', 'u32'],
    ['n_heads', 'u32'],
    ['kv_heads', 'u32'],
    ['head_dim', 'u32'],
    ['group', 'u32'],
    ['mem_count', 'u32'],
    ['n_splits', 'u32'],
    ['chunk', 'u32'],
    ['q_offset', 'u32'],
    ['out_offset', 'u32'],
    ['scale', 'f32'],
    ['mem_heads_mask', 'u32'],
    ['window', 'u32'],
    ['softcap', 'f32'],
  ] as const),
};

export const attentionMergeKernel = {
  source: mergeSource,
  params: defineParams([
    ['rows_heads', 'u32'],
    ['head_dim', 'u32'],
    ['n_splits', 'u32'],
    ['out_offset', 'u32'],
  ] as const),
};

export interface AttentionArgs {
  q: GPUBuffer; // (m, nHeads, headDim) f32 at qOffset, RoPE'd; must not be `out`
  qOffset?: number; // elements
  out: GPUBuffer; // (m, nHeads, headDim) f32 at outOffset
  outOffset?: number; // elements
  kCache: GPUBuffer; // (ctx, kvHeads, headDim) f32 (or packed f16), RoPE'd; rows 0 .. startPos+m-1 are read
  vCache: GPUBuffer; // (ctx, kvHeads, headDim) f32 (or packed f16)
  kvDtype?: 'f32' | 'f16'; // the context cache's element type (default f32; f16 needs an even headDim)
  m: number; // query rows; row i sits at position startPos + i
  startPos: number;
  nHeads: number;
  kvHeads: number; // divides nHeads; head h reads kv head floor(h / (nHeads / kvHeads))
  headDim: number; // 1 ..= 256
  scale: number; // score scale, usually 1 / sqrt(headDim)
  /** Memory slots seen by every row without a mask: k, v (kvHeads, count, headDim) f32, RoPE'd keys. */
  /** Memory slots; `headMask` bit h set = kv head h reads them (default: every head; up to 32 kv heads). */
  memory?: { k: GPUBuffer; v: GPUBuffer; count: number; headMask?: number };
  /** Sliding window: the query at position p reads context keys p − window < j <= p only (memory slots always). */
  window?: number;
  /** Gemma 2's soft-cap: scores s = scale·q·k become softcap · tanh(s / softcap). */
  softcap?: number;
  /** Upper bound on key splits per (row, head); 1 forces the single-pass path. Default: automatic. */
  maxSplits?: number;
}

/** Threads (row, head, split) the split path aims for; splits never hold fewer than minChunk keys. */
const targetThreads = 2048;
const minChunk = 32;
const splitCap = 64;
const wgSize = 64;
const maxHeadDim = 256;

export interface AttentionPlan {
  nSplits: number;
  chunk: number;
  totalKeys: number;
}

/** How the joint key list [memory, context 0 .. startPos+m-1] is split for these shapes. */
export function planAttention(m: number, nHeads: number, totalKeys: number, maxSplits = splitCap): AttentionPlan {
  const wanted = Math.ceil(targetThreads / (m * nHeads));
  const limit = Math.max(1, Math.min(wanted, Math.ceil(totalKeys / minChunk), splitCap, maxSplits));
  const chunk = Math.ceil(totalKeys / limit);
  return { nSplits: Math.ceil(totalKeys / chunk), chunk, totalKeys };
}

export function encodeAttention(run: KernelRunner, args: AttentionArgs): void {
  validate(args);
  const { m, nHeads, headDim } = args;
  const memCount = args.memory?.count ?? 0;
  const contextKeys = Math.min(args.startPos + m, args.window ?? Number.POSITIVE_INFINITY); // the most any row reads
  const plan = planAttention(m, nHeads, memCount + contextKeys, args.maxSplits);
  const softcap = args.softcap !== undefined;
  const kvF16 = args.kvDtype === 'f16';
  const direct = plan.nSplits === 1;
  const hdVariant = headDim <= 64 ? 64 : headDim <= 128 ? 128 : 256;
  const outOffset = args.outOffset ?? 0;
  const rowsHeads = m * nHeads;
  const mem = memCount > 0 ? args.memory! : { k: dummyBuffer(run.device), v: dummyBuffer(run.device) };
  const dst = direct ? args.out : scratchBuffer(run.device, rowsHeads * plan.nSplits * (headDim + 4));
  // vec4 loads when every vector the kernel touches starts on a multiple of 4 elements.
  const vec4 = headDim % 4 === 0 && (args.qOffset ?? 0) % 4 === 0 && (!direct || outOffset % 4 === 0);
  run.dispatch({
    key: `attention.${direct ? 'direct' : 'split'}.${vec4 ? 'vec4' : 'f32'}${softcap ? '.softcap' : ''}${kvF16 ? '.kvf16' : ''}.hd${hdVariant}.wg${wgSize}`,
    source,
    defines: [
      ...(direct ? ['DIRECT'] : []),
      ...(vec4 ? ['VEC4'] : []),
      ...(softcap ? ['SOFTCAP'] : []),
      ...(kvF16 ? ['KV_F16'] : []),
      `HD${hdVariant}`,
    ],
    constants: { WG_SIZE: wgSize },
    params: attentionKernel.params.pack({
      m,
      start_pos: args.startPos,
      n_heads: nHeads,
      kv_heads: args.kvHeads,
      head_dim: headDim,
      group: nHeads / args.kvHeads,
      mem_count: memCount,
      n_splits: plan.nSplits,
      chunk: plan.chunk,
      q_offset: args.qOffset ?? 0,
      out_offset: direct ? outOffset : 0,
      scale: args.scale,
      mem_heads_mask: (args.memory?.headMask ?? 0xffffffff) >>> 0,
      window: args.window ?? 0,
      softcap: args.softcap ?? 0,
    }),
    buffers: [args.q, args.kCache, args.vCache, mem.k, mem.v, dst],
    workgroups: gridFor(Math.ceil((rowsHeads * plan.nSplits) / wgSize), run.maxWorkgroupsPerDimension),
  });
  if (direct) return;
  run.dispatch({
    key: `attention_merge.f32.wg${wgSize}`,
    source: mergeSource,
    constants: { WG_SIZE: wgSize },
    params: attentionMergeKernel.params.pack({ rows_heads: rowsHeads, head_dim: headDim, n_splits: plan.nSplits, out_offset: outOffset }),
    buffers: [dst, args.out],
    workgroups: gridFor(Math.ceil((rowsHeads * headDim) / wgSize), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: AttentionArgs): void {
  if (a.maxSplits !== undefined && !(Number.isInteger(a.maxSplits) && a.maxSplits >= 1)) {
    throw new InvalidOptionsError(`attention: maxSplits must be a positive integer, got ${a.maxSplits}`, {
      op: 'attention',
      maxSplits: a.maxSplits,
    });
  }
  const c = new ArgCheck('attention')
    .positive({ m: a.m, nHeads: a.nHeads, kvHeads: a.kvHeads, headDim: a.headDim })
    .offsets({ startPos: a.startPos, qOffset: a.qOffset ?? 0, outOffset: a.outOffset ?? 0 })
    .that(a.nHeads % a.kvHeads === 0, 'nHeads', `a multiple of kvHeads = ${a.kvHeads}`, a.nHeads)
    .that(a.headDim <= maxHeadDim, 'headDim', `<= ${maxHeadDim}`, a.headDim)
    .that(Number.isFinite(a.scale), 'scale', 'a finite number', a.scale)
    .that(a.window === undefined || (Number.isInteger(a.window) && a.window >= 1), 'window', 'a positive integer', a.window)
    .that(a.softcap === undefined || (Number.isFinite(a.softcap) && a.softcap > 0), 'softcap', 'a finite number > 0', a.softcap)
    .distinct('out', a.out, 'q', a.q);
  const row = a.kvHeads * a.headDim;
  c.fits('q', a.q, (a.qOffset ?? 0) + a.m * a.nHeads * a.headDim)
    .fits('out', a.out, (a.outOffset ?? 0) + a.m * a.nHeads * a.headDim)
    .that(a.kvDtype !== 'f16' || a.headDim % 2 === 0, 'headDim', 'even for an f16 KV cache', a.headDim)
    .fits('kCache', a.kCache, (a.startPos + a.m) * row, a.kvDtype === 'f16' ? 2 : 4)
    .fits('vCache', a.vCache, (a.startPos + a.m) * row, a.kvDtype === 'f16' ? 2 : 4);
  if (a.memory) {
    c.offsets({ 'memory.count': a.memory.count })
      .fits('memory.k', a.memory.k, a.memory.count * row)
      .fits('memory.v', a.memory.v, a.memory.count * row);
  }
}

const dummies = new WeakMap<GPUDevice, GPUBuffer>();
const scratches = new WeakMap<GPUDevice, GPUBuffer>();

/** A tiny buffer bound in place of absent memory slots (memCount 0 then takes the same code path). */
function dummyBuffer(device: GPUDevice): GPUBuffer {
  let b = dummies.get(device);
  if (!b)
    dummies.set(
      device,
      (b = device.createBuffer({ label: 'attention.no_memory', size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST })),
    );
  return b;
}

/**
 * Split-K partials, one buffer per device, allocated at the first split call. Splits exist only when
 * m·nHeads < targetThreads, so m·nHeads·nSplits < 2·targetThreads and the first allocation is the
 * only one (the size check is a guard). A replaced buffer would not be destroyed: dispatches
 * recorded earlier in the same step may still use it.
 */
function scratchBuffer(device: GPUDevice, elems: number): GPUBuffer {
  let b = scratches.get(device);
  const bytes = Math.max(elems, 2 * targetThreads * (maxHeadDim + 4)) * 4;
  if (!b || b.size < elems * 4) {
    b = device.createBuffer({ label: 'attention.partials', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    scratches.set(device, b);
  }
  return b;
}
