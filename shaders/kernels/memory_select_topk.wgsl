// Top-k of the memory selection scores per memory head, by rank counting: token j's rank is how
// many tokens beat it (higher score, or equal score and lower j; NaN counts as lowest), and the
// thread of a token with rank < k writes its position into slot `rank`, so slots are in
// descending score order. With n < k tokens, slots [n, k) repeat the last kept token (rank n - 1).
// One thread per (mh, j), O(n) work each, no barriers.
//#include "grid.wgsl"

struct Params {
  n: u32,           // reference tokens scored per head
  k: u32,           // slots per head (tokens kept)
  mem_heads: u32,
  scores_offset: u32,  // element offset of score[0, 0]; (mem_heads, n) row-major
  pos_base: u32,    // position written for token j is pos_base + j (the prefix length)
  out_offset: u32,  // element offset of slot [0, 0] in positions; (mem_heads, k) row-major
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> positions: array<u32>;

fn score_at(mh: u32, j: u32) -> f32 {
  let s = scores[params.scores_offset + mh * params.n + j];
  let is_nan = (bitcast<u32>(s) & 0x7fffffffu) > 0x7f800000u;  // by bits: compilers may fold s != s away
  return select(s, -3.4e38, is_nan);
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let n = params.n;
  if (t >= params.mem_heads * n) { return; }
  let mh = t / n;
  let j = t % n;
  let s = score_at(mh, j);
  var rank = 0u;
  for (var o = 0u; o < n; o++) {
    let so = score_at(mh, o);
    if (so > s || (so == s && o < j)) { rank++; }
  }
  let out = params.out_offset + mh * params.k;
  if (rank < params.k) { positions[out + rank] = params.pos_base + j; }
  if (rank + 1u == n) {
    for (var slot = n; slot < params.k; slot++) { positions[out + slot] = params.pos_base + j; }
  }
}
