// Embedding gather for one row part of the table: out[t, c] = table[tokens[t], c] · scale for every token
// whose id falls in this part. One invocation per table word: one f32, or two packed f16 values;
// quantized tables (QUANT with Q8_0, Q4_0, Q4_K or Q6_K) dequantize four values per invocation.
// The last part also writes NaN rows for ids past the table's end, so a bad id cannot go unnoticed.
//#include "grid.wgsl"

struct Params {
  count: u32,         // tokens to gather
  cols: u32,          // row width in elements (even for F16)
  token_offset: u32,  // element offset of the first token id
  out_offset: u32,    // element offset of out[0, 0]
  row_start: u32,     // first table row in this part
  part_rows: u32,     // table rows in this part
  last_part: u32,     // 1: this part also handles ids >= row_start + part_rows (writes NaN)
  scale: f32,         // every value is multiplied by it (Gemma: √hidden; else 1)
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
//#ifdef QUANT
@group(0) @binding(1) var<storage, read> w: array<u32>;
fn w_part_blocks() -> u32 { return params.part_rows * (params.cols / 32u); }  // 32-value blocks in this part
//#include "matmul_weights.wgsl"
const PER: u32 = 4u;  // values per invocation
//#else
//#ifdef F16
@group(0) @binding(1) var<storage, read> table: array<u32>;
const PER: u32 = 2u;
//#else
@group(0) @binding(1) var<storage, read> table: array<f32>;
const PER: u32 = 1u;
//#endif
//#endif
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let words = params.cols / PER;
  let e = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (e >= params.count * words) { return; }
  let t = e / words;
  let c = e % words;
  let id = tokens[params.token_offset + t];
  let o = params.out_offset + t * params.cols;
  if (id < params.row_start) { return; }
  let row = id - params.row_start;
  if (row >= params.part_rows) {
    if (params.last_part != 0u) {
      let nan = bitcast<f32>(params.last_part * 0x7fc00000u);  // last_part is 1 here; a constant NaN fails to compile
      for (var i = 0u; i < PER; i++) { out[o + PER * c + i] = nan; }
    }
    return;
  }
  //#ifdef QUANT
  let v = load_w4(row * params.cols + 4u * c);
  for (var i = 0u; i < 4u; i++) { out[o + 4u * c + i] = v[i] * params.scale; }
  //#else
  //#ifdef F16
  let v = unpack2x16float(table[row * words + c]);
  out[o + 2u * c] = v.x * params.scale;
  out[o + 2u * c + 1u] = v.y * params.scale;
  //#else
  out[o + c] = table[row * words + c] * params.scale;
  //#endif
  //#endif
}
