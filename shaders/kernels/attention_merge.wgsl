// Split-K attention merge (flash decoding): combines the (max, sum, acc) partials that
// attention.wgsl wrote for each key split by log-sum-exp, one thread per output element:
//   M = max_s max_s;  out[d] = sum_s acc_s[d] * exp(max_s - M) / sum_s sum_s * exp(max_s - M).
// Empty splits carry max = NEG_BIG, sum = 0, acc = 0 and so weigh exactly 0.
//#include "grid.wgsl"
//#include "attention_common.wgsl"

struct Params {
  rows_heads: u32,  // m * n_heads output rows
  head_dim: u32,    // elements per head
  n_splits: u32,    // partials per output row
  out_offset: u32,  // element offset of out (m, n_heads, head_dim)
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;  // (m, n_heads, n_splits, 4 + head_dim)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // (m, n_heads, head_dim)

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let hd = params.head_dim;
  if (t >= params.rows_heads * hd) { return; }
  let rh = t / hd;
  let d = t % hd;
  let stride = hd + 4u;  // max, sum, 2 unused, acc
  let base = rh * params.n_splits * stride;
  var mx = NEG_BIG;
  for (var s = 0u; s < params.n_splits; s++) { mx = max(mx, partials[base + s * stride]); }
  var sum = 0.0;
  var o = 0.0;
  for (var s = 0u; s < params.n_splits; s++) {
    let p = base + s * stride;
    let w = exp(partials[p] - mx);
    sum += partials[p + 1u] * w;
    o += partials[p + 4u + d] * w;
  }
  out[params.out_offset + t] = o / sum;
}
