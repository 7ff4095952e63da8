/**
 * Gated activation: out = act(gate) * up over n elements, act silu (SwiGLU) or gelu's tanh
 * approximation (GeGLU, Gemma); `geluF16Table` computes gelu as llama.cpp's CPU backend does, from
 * its f16 table (x rounded to f16, gelu rounded to f16; ggml-cpu's GGML_GELU_FP16), for the oracle. Any of the three may share a buffer
 * (in place: out === gate or out === up) as long as the written range equals or misses the others.
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
  act?: 'silu' | 'gelu_tanh'; // default silu
  geluF16Table?: boolean; // with gelu_tanh: llama.cpp's f16-table gelu
}

export function encodeSiluMul(run: KernelRunner, args: SiluMulArgs): void {
  const gateOffset = args.gateOffset ?? 0,
    upOffset = args.upOffset ?? 0,
    outOffset = args.outOffset ?? 0;
  validate(args, gateOffset, upOffset, outOffset);
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
    params: siluMulKernel.params.pack({ n: args.n, gate_offset: gateOffset, up_offset: upOffset, out_offset: outOffset }),
    buffers,
    workgroups: gridFor(Math.ceil(args.n / wgSize), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: SiluMulArgs, gateOffset: number, upOffset: number, outOffset: number): void {
  new ArgCheck('silu_mul')
    .positive({ n: a.n })
    .that(a.act === undefined || a.act === 'silu' || a.act === 'gelu_tanh', 'act', "'silu' or 'gelu_tanh'", a.act)
    .offsets({ gateOffset, upOffset, outOffset })
    .fits('gate', a.gate, gateOffset + a.n)
    .fits('up', a.up, upOffset + a.n)
    .fits('out', a.out, outOffset + a.n)
    .sameOrDisjoint('out', a.out, outOffset, 'gate', a.gate, gateOffset, a.n)
    .sameOrDisjoint('out', a.out, outOffset, 'up', a.up, upOffset, a.n);
}
