// Rounds matmul inputs the way llama.cpp's CPU backend does before its dot products, so an engine
// run can be compared with llama.cpp on the same weights to accumulation order (the oracle):
//   Q8_0 (for q8_0/q4_0 weights): blocks of 32, d = f16(amax / 127), q = round(x · 127 / amax)
//   Q8_K (for q4_k/q6_k weights): blocks of 256, s = −127 / m (m the value of largest |x|),
//                                 q = min(127, round(x · s)), value q / s
//   F16, BF16 (for f16, bf16 weights): each value rounded to nearest even
// out[r, c] = rounded x[r, c] for rows × cols. One invocation per block (per value for F16/BF16).
// Halves are rounded with integer ops, not pack2x16float, whose rounding WGSL leaves open.
//#include "grid.wgsl"
//#include "round_f16.wgsl"

struct Params {
  rows: u32,        // rows of x
  cols: u32,        // values per row (a multiple of the block)
  x_offset: u32,    // element offset of x[0, 0]
  out_offset: u32,  // element offset of out[0, 0]
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

//#ifdef Q8_0
const BLOCK: u32 = 32u;
//#endif
//#ifdef Q8_K
const BLOCK: u32 = 256u;
//#endif
//#ifdef F16
const BLOCK: u32 = 1u;
//#endif
//#ifdef BF16
const BLOCK: u32 = 1u;
//#endif

fn round_bf16(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let block = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let per_row = params.cols / BLOCK;
  if (block >= params.rows * per_row) { return; }
  let row = block / per_row;
  let i0 = row * params.cols + (block % per_row) * BLOCK;
  let xb = params.x_offset + i0;
  let ob = params.out_offset + i0;
  //#ifdef F16
  out[ob] = round_f16(x[xb]);
  //#endif
  //#ifdef BF16
  out[ob] = round_bf16(x[xb]);
  //#endif
  //#ifdef Q8_0
  var amax = 0.0;
  for (var i = 0u; i < BLOCK; i++) { amax = max(amax, abs(x[xb + i])); }
  let d = round_f16(amax / 127.0);
  let id = select(0.0, 127.0 / amax, amax != 0.0);
  for (var i = 0u; i < BLOCK; i++) { out[ob + i] = d * round(x[xb + i] * id); }
  //#endif
  //#ifdef Q8_K
  var m = 0.0;
  for (var i = 0u; i < BLOCK; i++) { if (abs(x[xb + i]) > abs(m)) { m = x[xb + i]; } }
  let s = select(0.0, -127.0 / m, m != 0.0);
  let d = select(0.0, 1.0 / s, m != 0.0);
  for (var i = 0u; i < BLOCK; i++) { out[ob + i] = d * min(127.0, round(x[xb + i] * s)); }
  //#endif
}
