// Causal multi-head attention with GQA and explicit-memory slots, one thread per
// (query row, query head, key split), no barriers. Each thread streams its key range with an online
// softmax (running max and sum, rescaling its accumulator) over the joint key list
// [memory slots of its kv head (no mask), context keys first ..= start_pos + row], where first is 0,
// or with a sliding window the oldest key the window reaches (start_pos + row + 1 − window): the
// keys before it are never read. SOFTCAP: scores s become softcap · tanh(s / softcap) (Gemma 2).
//   DIRECT: one split per (row, head); writes the normalized output row to dst = out.
//   else:   writes (max, sum, _, _, acc[head_dim]) partials to dst = scratch for attention_merge.wgsl.
//   VEC4:   head_dim, q_offset and (DIRECT) out_offset are multiples of 4; buffers are read as vec4.
//   KV_F16: the context cache holds packed f16 pairs (the optional f16 KV cache; no shader-f16 needed).
// Query row r sits at absolute position start_pos + r; query head h reads kv head h / group.
//#include "grid.wgsl"
//#include "attention_common.wgsl"
//#include "tanh.wgsl"

struct Params {
  m: u32,           // query rows
  start_pos: u32,   // absolute position of query row 0
  n_heads: u32,     // query heads
  kv_heads: u32,    // key/value heads
  head_dim: u32,    // elements per head (<= HD_MAX)
  group: u32,       // n_heads / kv_heads
  mem_count: u32,   // memory slots per kv head (0: none; mem_k/mem_v are then a dummy)
  n_splits: u32,    // key splits per (row, head)
  chunk: u32,       // keys per split, counted over [memory slots, context keys]
  q_offset: u32,    // element offset of q (m, n_heads, head_dim)
  out_offset: u32,  // element offset of out (m, n_heads, head_dim); DIRECT only
  scale: f32,       // score scale, usually 1 / sqrt(head_dim)
  mem_heads_mask: u32, // bit h set: kv head h reads the memory slots (explicit memory's memory heads)
  window: u32,      // sliding window: a query at position p reads context keys p − window < j <= p (0: all)
  softcap: f32,     // score soft-cap (SOFTCAP only)
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
//#ifdef VEC4
alias vec_t = vec4<f32>;
const LANES: u32 = 4u;
fn vdot(a: vec_t, b: vec_t) -> f32 { return dot(a, b); }
//#else
alias vec_t = f32;
const LANES: u32 = 1u;
fn vdot(a: vec_t, b: vec_t) -> f32 { return a * b; }
//#endif

@group(0) @binding(1) var<storage, read> q: array<vec_t>;        // (m, n_heads, head_dim) at q_offset
//#ifdef KV_F16
//#ifdef VEC4
@group(0) @binding(2) var<storage, read> k_cache: array<vec2<u32>>;  // (ctx, kv_heads, head_dim) f16, RoPE'd
@group(0) @binding(3) var<storage, read> v_cache: array<vec2<u32>>;  // (ctx, kv_heads, head_dim) f16
fn load_k(i: u32) -> vec_t { let p = k_cache[i]; return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y)); }
fn load_v(i: u32) -> vec_t { let p = v_cache[i]; return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y)); }
//#else
@group(0) @binding(2) var<storage, read> k_cache: array<u32>;  // (ctx, kv_heads, head_dim) f16 pairs, RoPE'd
@group(0) @binding(3) var<storage, read> v_cache: array<u32>;  // (ctx, kv_heads, head_dim) f16 pairs
fn load_k(i: u32) -> vec_t { return unpack2x16float(k_cache[i >> 1u])[i & 1u]; }
fn load_v(i: u32) -> vec_t { return unpack2x16float(v_cache[i >> 1u])[i & 1u]; }
//#endif
//#else
@group(0) @binding(2) var<storage, read> k_cache: array<vec_t>;  // (ctx, kv_heads, head_dim), RoPE'd
@group(0) @binding(3) var<storage, read> v_cache: array<vec_t>;  // (ctx, kv_heads, head_dim)
fn load_k(i: u32) -> vec_t { return k_cache[i]; }
fn load_v(i: u32) -> vec_t { return v_cache[i]; }
//#endif
@group(0) @binding(4) var<storage, read> mem_k: array<vec_t>;    // (kv_heads, mem_count, head_dim), RoPE'd
@group(0) @binding(5) var<storage, read> mem_v: array<vec_t>;    // (kv_heads, mem_count, head_dim)
// DIRECT: out (m, n_heads, head_dim); else partials (m, n_heads, n_splits, 4 + head_dim).
@group(0) @binding(6) var<storage, read_write> dst: array<vec_t>;

// Below, indices and lengths count vec_t units: hd_v = head_dim / LANES.
var<private> hd_v: u32;
var<private> q_row: array<vec_t, HD_MAX / LANES>;
var<private> acc: array<vec_t, HD_MAX / LANES>;
var<private> run_max: f32;
var<private> run_sum: f32;

// Folds raw score q·k into the running softmax (scaled, soft-capped); returns the weight of its value row.
fn add_score(raw: f32) -> f32 {
//#ifdef SOFTCAP
  let s = params.softcap * tanh_f32(raw * params.scale / params.softcap);
//#else
  let s = raw * params.scale;
//#endif
  if (s > run_max) {
    let c = exp(run_max - s);
    run_sum *= c;
    for (var d = 0u; d < hd_v; d++) { acc[d] *= c; }
    run_max = s;
  }
  let p = exp(s - run_max);
  run_sum += p;
  return p;
}

fn attend_memory(kvh: u32, lo: u32, hi: u32) {
  for (var j = lo; j < hi; j++) {
    let base = (kvh * params.mem_count + j) * hd_v;
    var s = 0.0;
    for (var d = 0u; d < hd_v; d++) { s += vdot(q_row[d], mem_k[base + d]); }
    let p = add_score(s);
    for (var d = 0u; d < hd_v; d++) { acc[d] += p * mem_v[base + d]; }
  }
}

fn attend_context(kvh: u32, lo: u32, hi: u32) {
  for (var j = lo; j < hi; j++) {
    let base = (j * params.kv_heads + kvh) * hd_v;
    var s = 0.0;
    for (var d = 0u; d < hd_v; d++) { s += vdot(q_row[d], load_k(base + d)); }
    let p = add_score(s);
    for (var d = 0u; d < hd_v; d++) { acc[d] += p * load_v(base + d); }
  }
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (t >= params.m * params.n_heads * params.n_splits) { return; }
  let head = t % params.n_heads;           // heads fastest: neighbours share kv rows
  let split = (t / params.n_heads) % params.n_splits;
  let row = t / (params.n_heads * params.n_splits);
  let kvh = head / params.group;
  hd_v = params.head_dim / LANES;

  let q_base = params.q_offset / LANES + (row * params.n_heads + head) * hd_v;
  for (var d = 0u; d < hd_v; d++) { q_row[d] = q[q_base + d]; acc[d] = vec_t(0.0); }
  run_max = NEG_BIG;
  run_sum = 0.0;

  // Joint key index: [0, mem_count) memory slots, then context keys first ..= start_pos + row.
  let seen = params.start_pos + row + 1u;
  let first = select(0u, seen - params.window, params.window != 0u && seen > params.window);
  let total = params.mem_count + seen - first;
  let lo = min(split * params.chunk, total);
  let hi = min(lo + params.chunk, total);
  if (((params.mem_heads_mask >> kvh) & 1u) != 0u) {
    attend_memory(kvh, min(lo, params.mem_count), min(hi, params.mem_count));
  }
  attend_context(kvh, first + max(lo, params.mem_count) - params.mem_count, first + max(hi, params.mem_count) - params.mem_count);

//#ifdef DIRECT
  let o_base = params.out_offset / LANES + (row * params.n_heads + head) * hd_v;
  for (var d = 0u; d < hd_v; d++) { dst[o_base + d] = acc[d] / run_sum; }
//#else
  let p_base = ((row * params.n_heads + head) * params.n_splits + split) * (hd_v + 4u / LANES);
//#ifdef VEC4
  dst[p_base] = vec4<f32>(run_max, run_sum, 0.0, 0.0);
//#else
  dst[p_base] = run_max;
  dst[p_base + 1u] = run_sum;
//#endif
  for (var d = 0u; d < hd_v; d++) { dst[p_base + 4u / LANES + d] = acc[d]; }
//#endif
}
