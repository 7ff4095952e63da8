/**
 * Gated activation: out = act(gate) * up over n elements, act silu (SwiGLU) or gelu's tanh
 * approximation (GeGLU, Gemma); `geluF16Table` computes gelu as llama.cpp's CPU backend does, from
 * its f16 table (x rounded to f16, gelu rounded to f16; ggml-cpu's GGML_GELU_FP16), for the oracle. Any of the three may share a buffer
 * (in place: out === gate or out === up) as long as the written range equals or misses the others.
 * Strided input (`cols`, `inStride`): gate and up are rows of `cols` values `inStride` apart (the
 * halves of a fused [gate; up] projection's output), out is contiguous.
 */
import source from '../../shaders/kernels/silu_mul.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const siluMulKernel = {
  source,
  params: defineParams([
    ['n', 'u32'],
    ['gate_offset', 'u32'],
    ['up_offset', 'u32'],
    ['out_offset', 'u32'],
    ['cols', 'u32'],
    ['in_stride', 'u32'],
  ] as const),
};

const wgSize = 256;

export interface SiluMulArgs {
  gate: GPUBuffer; // (n) f32 at gateOffset
  up: GPUBuffer; // (n) f32 at upOffset; may be the gate buffer
  out: GPUBuffer; // (n) f32 at outOffset; may be gate or up (in place)
  n: number;
  gateOffset?: number; // elements
  upOffset?: number; // elements
  outOffset?: number; // elements
  cols?: number; // elements per input row (default n: one row)
  inStride?: number; // elements between input rows (default cols)
  act?: 'silu' | 'gelu_tanh'; // default silu
  geluF16Table?: boolean; // with gelu_tanh: llama.cpp's f16-table gelu
}

export function encodeSiluMul(run: KernelRunner, args: SiluMulArgs): void {
  const gateOffset = args.gateOffset ?? 0,
    upOffset = args.upOffset ?? 0,
    outOffset = args.outOffset ?? 0;
  const cols = args.cols ?? args.n,
    inStride = args.inStride ?? cols;
  validate(args, gateOffset, upOffset, outOffset, cols, inStride);
  const { gate, up, out } = args;
  const variant = out === gate ? (up === gate ? 'inplace_all' : 'inplace_gate') : out === up ? 'inplace_up' : 'f32';
  const gelu = args.act === 'gelu_tanh',
    table = gelu && args.geluF16Table === true;
  const defines = [
    ...{ f32: [], inplace_gate: ['OUT_IS_GATE'], inplace_up: ['OUT_IS_UP'], inplace_all: ['OUT_IS_GATE', 'UP_IS_GATE'] }[variant],
    ...(gelu ? ['GELU'] : []),
    ...(table ? ['GELU_F16'] : []),
  ];
  const buffers = { f32: [gate, up, out], inplace_gate: [gate, up], inplace_up: [gate, up], inplace_all: [gate] }[variant];
  run.dispatch({
    key: `silu_mul.${gelu ? (table ? 'gelu_f16' : 'gelu') : 'silu'}.${variant}.wg${wgSize}`,
    source,
    defines,
    constants: { WG_SIZE: wgSize },
    params: siluMulKernel.params.pack({
      n: args.n,
      gate_offset: gateOffset,
      up_offset: upOffset,
      out_offset: outOffset,
      cols,
      in_stride: inStride,
    }),
    buffers,
    workgroups: gridFor(Math.ceil(args.n / wgSize), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: SiluMulArgs, gateOffset: number, upOffset: number, outOffset: number, cols: number, inStride: number): void {
  const c = new ArgCheck('silu_mul')
    .positive({ n: a.n, cols })
    .that(a.n % cols === 0, 'cols', `a divisor of n = ${a.n}`, cols)
    .that(Number.isInteger(inStride) && inStride >= cols, 'inStride', `>= cols = ${cols}`, inStride)
    .that(a.act === undefined || a.act === 'silu' || a.act === 'gelu_tanh', 'act', "'silu' or 'gelu_tanh'", a.act);
  if (inStride !== cols) {
    // Strided rows: only a separate out (an in-place write would land on other elements' inputs).
    c.that(a.out !== a.gate && a.out !== a.up, 'out', 'a buffer apart from gate and up when rows are strided', a.out.label);
  }
  const span = (a.n / cols - 1) * inStride + cols;
  c.offsets({ gateOffset, upOffset, outOffset })
    .fits('gate', a.gate, gateOffset + span)
    .fits('up', a.up, upOffset + span)
    .fits('out', a.out, outOffset + a.n)
    .sameOrDisjoint('out', a.out, outOffset, 'gate', a.gate, gateOffset, a.n)
    .sameOrDisjoint('out', a.out, outOffset, 'up', a.up, upOffset, a.n);
}
