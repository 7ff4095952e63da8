// Rotary position embedding, in place. Row r of x holds `heads` vectors of head_dim at absolute
// position start_pos + r; the leading rot_dim elements of each rotate (partial rotary: the rest stay),
// pair i (< rot_dim/2) by angle f32(pos) * inv_freq[i], cos and sin scaled by `scale` (LongRoPE).
// Default pairs (i, i + rot_dim/2) (Hugging Face rotate_half); INTERLEAVED: (2i, 2i + 1)
// (GGUF / llama.cpp LLAMA_ROPE_TYPE_NORM). One invocation per pair.
//#include "grid.wgsl"
//#include "trig.wgsl"

struct Params {
  rows: u32,        // rows (positions) to rotate
  heads: u32,       // vectors per row
  head_dim: u32,    // elements per vector (even)
  row_stride: u32,  // elements between consecutive rows
  offset: u32,      // element offset of row 0, head 0
  start_pos: u32,   // absolute position of row 0
  rot_dim: u32,     // leading elements of each vector that rotate (even, <= head_dim)
  scale: f32,       // cos and sin are multiplied by it (1 but for LongRoPE's attention factor)
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;     // (rows, row_stride) f32, heads*head_dim used
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;    // (rot_dim/2) f32

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half_dim = params.rot_dim / 2u;
  let p = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (p >= params.rows * params.heads * half_dim) { return; }
  let i = p % half_dim;
  let vec_idx = p / half_dim;
  let h = vec_idx % params.heads;
  let r = vec_idx / params.heads;
  let base = params.offset + r * params.row_stride + h * params.head_dim;
//#ifdef INTERLEAVED
  let ia = base + 2u * i;
  let ib = ia + 1u;
//#else
  let ia = base + i;
  let ib = ia + half_dim;
//#endif
  let cs = sincos_f32(f32(params.start_pos + r) * inv_freq[i]);
  let c = cs.x * params.scale;
  let s = cs.y * params.scale;
  let xa = x[ia];
  let xb = x[ib];
  x[ia] = xa * c - xb * s;
  x[ib] = xb * c + xa * s;
}
