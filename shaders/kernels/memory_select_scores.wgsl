// Memory selection scores (Memory³): for each memory KV head g (head_list[mh]) and reference token j,
//   score[mh, j] = log Σ_{h in group(g)} Σ_i exp(q[i, h] · k[j, g] · scale)
// over the reference's tokens i — no causal mask, un-rotated q and k. Rows [0, prefix_len) of the
// step are the reference prefix and are neither queries nor keys. The log-sum-exp runs online
// (running max and rescaled sum), so nothing overflows. One thread per (mh, four keys), no barriers.
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

fn key_base(j: u32) -> u32 {
  return params.k_offset + (params.prefix_len + j) * params.kv_heads * params.head_dim;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let n = params.n;
  let blocks = (n + 3u) / 4u;  // each thread scores keys j0..j0+3, loading each q element once for all four
  if (t >= params.mem_heads * blocks) { return; }
  let mh = t / blocks;
  let j0 = (t % blocks) * 4u;
  let g = head_list[mh];
  let hd = params.head_dim;
  let group = params.heads / params.kv_heads;
  let q_row = params.heads * hd;
  // Lanes past the last key score key n - 1 again and are not written.
  let k0 = key_base(j0) + g * hd;
  let k1 = key_base(min(j0 + 1u, n - 1u)) + g * hd;
  let k2 = key_base(min(j0 + 2u, n - 1u)) + g * hd;
  let k3 = key_base(min(j0 + 3u, n - 1u)) + g * hd;
  var run_max = vec4<f32>(-3.0e38);
  var run_sum = vec4<f32>(0.0);
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var i = 0u; i < n; i++) {
      let q_base = params.q_offset + (params.prefix_len + i) * q_row + h * hd;
      var dot = vec4<f32>(0.0);
      for (var d = 0u; d < hd; d++) {
        dot += q[q_base + d] * vec4<f32>(k[k0 + d], k[k1 + d], k[k2 + d], k[k3 + d]);
      }
      let x = dot * params.scale;
      let new_max = max(run_max, x);
      run_sum = run_sum * exp(run_max - new_max) + exp(x - new_max);
      run_max = new_max;
    }
  }
  let score = run_max + log(run_sum);
  let out = params.out_offset + mh * n;
  for (var lane = 0u; lane < 4u; lane++) {
    if (j0 + lane < n) { scores[out + j0 + lane] = score[lane]; }
  }
}
