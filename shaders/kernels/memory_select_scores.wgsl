// Memory selection scores (Memory³): for each memory KV head g (head_list[mh]) and reference token j,
//   score[mh, j] = log Σ_{h in group(g)} Σ_i exp(q[i, h] · k[j, g] · scale)
// over the reference's tokens i — no causal mask, un-rotated q and k. Rows [0, prefix_len) of the
// step are the reference prefix and are neither queries nor keys. The log-sum-exp runs online
// (running max and rescaled sum), so nothing overflows. One thread per (mh, j), no barriers.
//#include "grid.wgsl"

struct Params {
  n: u32,           // reference tokens: step rows [prefix_len, prefix_len + n)
  prefix_len: u32,  // step rows before the reference (skipped)
  heads: u32,       // query heads
  kv_heads: u32,    // key/value heads (heads is a multiple)
  head_dim: u32,
  mem_heads: u32,   // entries in head_list
  q_offset: u32,    // element offset of step row 0 in q; a row is heads * head_dim elements
  k_offset: u32,    // element offset of step row 0 in k; a row is kv_heads * head_dim elements
  out_offset: u32,  // element offset of score[0, 0] in scores; (mem_heads, n) row-major
  scale: f32,       // 1 / sqrt(head_dim)
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // (rows, heads, head_dim)
@group(0) @binding(2) var<storage, read> k: array<f32>;          // (rows, kv_heads, head_dim)
@group(0) @binding(3) var<storage, read> head_list: array<u32>;  // (mem_heads) kv head indices
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let n = params.n;
  if (t >= params.mem_heads * n) { return; }
  let mh = t / n;
  let j = t % n;
  let g = head_list[mh];
  let hd = params.head_dim;
  let group = params.heads / params.kv_heads;
  let q_row = params.heads * hd;
  let k_base = params.k_offset + (params.prefix_len + j) * params.kv_heads * hd + g * hd;
  var run_max = -3.0e38;
  var run_sum = 0.0;
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var i = 0u; i < n; i++) {
      let q_base = params.q_offset + (params.prefix_len + i) * q_row + h * hd;
      var dot = 0.0;
      for (var d = 0u; d < hd; d++) { dot += q[q_base + d] * k[k_base + d]; }
      let x = dot * params.scale;
      if (x > run_max) {
        run_sum = run_sum * exp(run_max - x) + 1.0;
        run_max = x;
      } else {
        run_sum += exp(x - run_max);
      }
    }
  }
  scores[params.out_offset + t] = run_max + log(run_sum);
}
