// Draws one token from a logits row on the GPU, matching src/sampling/sampler.ts: repetition
// penalty → temperature → top-k → top-p → min-p → draw with xoshiro128** (src/util/prng.ts).
// One workgroup walks the whole vocabulary. Every kept set is a prefix of the order "logit
// descending, id ascending", so it is a cut pair (key, id): token (k, i) is in it when k > key or
// k == key and i <= id; cuts are found by bisection on the order-preserving u32 key of the logit,
// counting or summing masses (exp of the scaled logit) in double-f32 (hi, lo) pairs as the CPU
// sums in float64. The draw follows the CPU's candidate order: ids below bin `b_star` (nucleus.ts
// bins) in id order, then the rest in sorted order. out[0] = token id, out[1] = 1 on NaN/+inf.

struct Params {
  vocab: u32,          // logits in the row
  logits_offset: u32,  // element offset of the row in logits
  n_penalty: u32,      // ids in penalty_ids
  top_k: u32,          // 0 = off (the host passes 0 for k >= vocab)
  greedy: u32,         // 1: argmax, nothing drawn
  path: u32,           // 0 top-k, 1 nucleus (top-p without top-k), 2 neither (gather)
  use_top_p: u32,      // 1 when top_p < 1
  inv_temp: f32,       // 1 / temperature
  penalty: f32,        // repetition penalty (1 = off)
  min_logit: f32,      // smallest f32 >= the CPU's float64 min-p bound on scaled logits; -inf = off
  top_p_hi: f32,       // top_p as a double-f32 pair
  top_p_lo: f32,
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (vocab) f32 at logits_offset
@group(0) @binding(2) var<storage, read_write> work: array<f32>;      // (vocab) f32 scratch: scaled logits
@group(0) @binding(3) var<storage, read> penalty_ids: array<u32>;     // (n_penalty) recent token ids
@group(0) @binding(4) var<storage, read_write> rng: array<u32>;       // (4) xoshiro128** state
@group(0) @binding(5) var<storage, read_write> out: array<u32>;       // (2) token id, error flag

var<workgroup> red_df: array<vec2f, WG_SIZE>;
var<workgroup> red_u: array<u32, WG_SIZE>;
var<workgroup> red_m: array<vec2u, WG_SIZE>;  // (key, id) of the best seen
var<workgroup> sh_u: u32;
var<workgroup> sh_u2: u32;
var<workgroup> sh_df: vec2f;
var<workgroup> sh_f: f32;

// ---- double-f32 arithmetic (Dekker / Knuth error-free transforms) ----
fn quick_two_sum(a: f32, b: f32) -> vec2f { let s = a + b; return vec2f(s, b - (s - a)); }
fn two_sum(a: f32, b: f32) -> vec2f {
  let s = a + b;
  let bb = s - a;
  return vec2f(s, (a - (s - bb)) + (b - bb));
}
fn df_add(a: vec2f, b: vec2f) -> vec2f {
  let s = two_sum(a.x, b.x);
  return quick_two_sum(s.x, s.y + a.y + b.y);
}
fn split(a: f32) -> vec2f { let t = 4097.0 * a; let hi = t - (t - a); return vec2f(hi, a - hi); }
fn df_mul(a: vec2f, b: vec2f) -> vec2f {
  let p = a.x * b.x;
  let sa = split(a.x);
  let sb = split(b.x);
  let e = ((sa.x * sb.x - p) + sa.x * sb.y + sa.y * sb.x) + sa.y * sb.y;
  return quick_two_sum(p, e + a.x * b.y + a.y * b.x);
}
fn df_gt(a: vec2f, b: vec2f) -> bool { return a.x > b.x || (a.x == b.x && a.y > b.y); }
fn df_ge(a: vec2f, b: vec2f) -> bool { return a.x > b.x || (a.x == b.x && a.y >= b.y); }

// ---- order: key(x) grows with x; -inf is excluded everywhere (the CPU never keeps it) ----
fn key_of(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn in_cut(k: u32, i: u32, cut: vec2u) -> bool { return k > cut.x || (k == cut.x && i <= cut.y); }
fn live(x: f32) -> bool { return bitcast<u32>(x) != 0xff800000u; }  // not -inf
fn bin_of(x: f32) -> u32 { return u32(min(floor(-x * 32.0), 1023.0)); }
fn weight(x: f32) -> f32 { return exp(x); }

fn wg_sum_df(v: vec2f, lid: u32) -> vec2f {
  red_df[lid] = v;
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_df[lid] = df_add(red_df[lid], red_df[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { sh_df = red_df[0]; }
  return workgroupUniformLoad(&sh_df);
}
fn wg_sum_u(v: u32, lid: u32) -> u32 {
  red_u[lid] = v;
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_u[lid] += red_u[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { sh_u = red_u[0]; }
  return workgroupUniformLoad(&sh_u);
}

// Kept-set membership: finite, in the top-k cut, in the top-p cut, at or above min-p.
fn kept(x: f32, k: u32, i: u32, cut_k: vec2u, cut_p: vec2u) -> bool {
  return live(x) && in_cut(k, i, cut_k) && in_cut(k, i, cut_p) && x >= params.min_logit;
}
// `which` 0: finite ∩ cut_k (top-p's base set); 1: kept with bin >= b_star (the sorted segment).
fn in_set(which: u32, x: f32, k: u32, i: u32, cut_k: vec2u, cut_p: vec2u, b_star: u32) -> bool {
  if (which == 0u) { return live(x) && in_cut(k, i, cut_k); }
  return kept(x, k, i, cut_k, cut_p) && bin_of(x) >= b_star;
}

// The id of the j-th (0-based, id order) token with key == `key` in `which` (uniform result).
fn nth_tie(which: u32, key: u32, j: u32, cut_k: vec2u, cut_p: vec2u, b_star: u32, lid: u32) -> u32 {
  let chunk = (params.vocab + WG_SIZE - 1u) / WG_SIZE;
  let lo = lid * chunk;
  let hi = min(lo + chunk, params.vocab);
  var c = 0u;
  for (var i = lo; i < hi; i++) {
    let x = work[i];
    if (key_of(x) == key && in_set(which, x, key, i, cut_k, cut_p, b_star)) { c++; }
  }
  red_u[lid] = c;
  workgroupBarrier();
  if (lid == 0u) {
    var before = 0u;
    for (var t = 0u; t < WG_SIZE; t++) {
      let n = red_u[t];
      if (j < before + n) { sh_u2 = t; sh_u = j - before; break; }
      before += n;
    }
  }
  workgroupBarrier();
  if (lid == sh_u2) {
    var r = sh_u;
    for (var i = lo; i < hi; i++) {
      let x = work[i];
      if (key_of(x) == key && in_set(which, x, key, i, cut_k, cut_p, b_star)) {
        if (r == 0u) { sh_u = i; break; }
        r--;
      }
    }
  }
  return workgroupUniformLoad(&sh_u);
}

// First token, in sorted order over `which`, where base + inclusive mass crosses t (> t when strict,
// >= t otherwise). Returns (key, id, found).
fn mass_cut(which: u32, base: vec2f, t: vec2f, strict: bool, cut_k: vec2u, cut_p: vec2u, b_star: u32, lid: u32) -> vec3u {
  var v = 0u;
  for (var bit = 32u; bit > 0u; bit--) {
    let cand = v | (1u << (bit - 1u));
    var m = vec2f(0.0);
    for (var i = lid; i < params.vocab; i += WG_SIZE) {
      let x = work[i];
      let k = key_of(x);
      if (k >= cand && in_set(which, x, k, i, cut_k, cut_p, b_star)) { m = df_add(m, vec2f(weight(x), 0.0)); }
    }
    let acc = df_add(base, wg_sum_df(m, lid));
    if (select(df_ge(acc, t), df_gt(acc, t), strict)) { v = cand; }
  }
  // v = 0 never crosses with a key-0 token only when nothing crosses: check v itself.
  var m = vec2f(0.0);
  var ties = 0u;
  for (var i = lid; i < params.vocab; i += WG_SIZE) {
    let x = work[i];
    let k = key_of(x);
    if (in_set(which, x, k, i, cut_k, cut_p, b_star)) {
      if (k > v) { m = df_add(m, vec2f(weight(x), 0.0)); } else if (k == v) { ties++; }
    }
  }
  let above = df_add(base, wg_sum_df(m, lid));
  let n_ties = wg_sum_u(ties, lid);
  if (lid == 0u) {
    var acc = above;
    let w = vec2f(weight(bitcast<f32>(select(~v, v & 0x7fffffffu, (v & 0x80000000u) != 0u))), 0.0);
    sh_u = 0xffffffffu;
    for (var j = 0u; j < n_ties; j++) {
      acc = df_add(acc, w);
      if (select(df_ge(acc, t), df_gt(acc, t), strict)) { sh_u = j; break; }
    }
  }
  let j = workgroupUniformLoad(&sh_u);
  if (j == 0xffffffffu) { return vec3u(0u, 0u, 0u); }
  return vec3u(v, nth_tie(which, v, j, cut_k, cut_p, b_star, lid), 1u);
}

fn next_u32() -> u32 {
  let s0 = rng[0]; let s1 = rng[1]; let s2 = rng[2]; let s3 = rng[3];
  let a = s1 * 5u;
  let result = ((a << 7u) | (a >> 25u)) * 9u;
  let t = s1 << 9u;
  let n2 = s2 ^ s0;
  let n3 = s3 ^ s1;
  let n1 = s1 ^ n2;
  let n0 = s0 ^ n3;
  rng[0] = n0; rng[1] = n1; rng[2] = n2 ^ t; rng[3] = (n3 << 11u) | (n3 >> 21u);
  return result;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.vocab;
  // Penalty: copy the row, then rewrite the penalized ids from the original row (duplicates write the same value).
  for (var i = lid; i < n; i += WG_SIZE) { work[i] = logits[params.logits_offset + i]; }
  storageBarrier();
  workgroupBarrier();
  if (params.penalty != 1.0) {
    for (var j = lid; j < params.n_penalty; j += WG_SIZE) {
      let id = penalty_ids[j];
      let x = logits[params.logits_offset + id];
      work[id] = select(x * params.penalty, x / params.penalty, x > 0.0);
    }
  }
  storageBarrier();
  workgroupBarrier();
  // Max (lowest id on ties) and the NaN check.
  var best = vec2u(0u, 0xffffffffu);
  var bad = 0u;
  for (var i = lid; i < n; i += WG_SIZE) {
    let x = work[i];
    if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { bad = 1u; }
    let k = key_of(x);
    if (k > best.x || (k == best.x && i < best.y) || best.y == 0xffffffffu) { best = vec2u(k, i); }
  }
  red_m[lid] = best;
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = red_m[lid];
      let b = red_m[lid + s];
      if (b.y != 0xffffffffu && (a.y == 0xffffffffu || b.x > a.x || (b.x == a.x && b.y < a.y))) { red_m[lid] = b; }
    }
    workgroupBarrier();
  }
  let any_bad = wg_sum_u(bad, lid);
  let top = workgroupUniformLoad(&red_m[0]);
  if (lid == 0u) { sh_f = work[top.y]; }
  let max_x = workgroupUniformLoad(&sh_f);
  if (any_bad != 0u || (bitcast<u32>(max_x) & 0x7fffffffu) >= 0x7f800000u) {
    if (lid == 0u) { out[0] = top.y; out[1] = 1u; }
    return;
  }
  if (params.greedy == 1u) {
    if (lid == 0u) { out[0] = top.y; out[1] = 0u; }
    return;
  }
  storageBarrier();
  workgroupBarrier();
  for (var i = lid; i < n; i += WG_SIZE) { work[i] = (work[i] - max_x) * params.inv_temp; }
  storageBarrier();
  workgroupBarrier();
  let all = vec2u(0u, 0xffffffffu);
  // top-k: the k-th token in sorted order by bisection on counts.
  var cut_k = all;
  if (params.top_k > 0u) {
    var v = 0u;
    for (var bit = 32u; bit > 0u; bit--) {
      let cand = v | (1u << (bit - 1u));
      var c = 0u;
      for (var i = lid; i < n; i += WG_SIZE) {
        let x = work[i];
        if (key_of(x) >= cand && live(x)) { c++; }
      }
      if (wg_sum_u(c, lid) >= params.top_k) { v = cand; }
    }
    var c = 0u;
    for (var i = lid; i < n; i += WG_SIZE) {
      let x = work[i];
      if (key_of(x) > v && live(x)) { c++; }
    }
    let above = wg_sum_u(c, lid);
    if (v != 0u) { cut_k = vec2u(v, nth_tie(0u, v, params.top_k - above - 1u, all, all, 0u, lid)); }
  }
  // top-p: the first token whose inclusive mass reaches top_p × the mass of finite ∩ top-k.
  var cut_p = all;
  var b_star = select(select(1024u, 1023u, params.path == 1u), 0u, params.path == 0u);
  if (params.use_top_p == 1u) {
    var m = vec2f(0.0);
    for (var i = lid; i < n; i += WG_SIZE) {
      let x = work[i];
      if (in_set(0u, x, key_of(x), i, cut_k, all, 0u)) { m = df_add(m, vec2f(weight(x), 0.0)); }
    }
    let limit = df_mul(vec2f(params.top_p_hi, params.top_p_lo), wg_sum_df(m, lid));
    let c = mass_cut(0u, vec2f(0.0), limit, false, cut_k, all, 0u, lid);
    if (c.z == 1u) {
      cut_p = c.xy;
      if (params.path == 1u) { b_star = bin_of(work[c.y]); }
    }
  }
  // The draw: mass of the kept set; goal = u × mass; id-order segment, then sorted segment.
  var mi = vec2f(0.0);
  var ms = vec2f(0.0);
  let chunk = (n + WG_SIZE - 1u) / WG_SIZE;
  let lo = lid * chunk;
  let hi = min(lo + chunk, n);
  for (var i = lo; i < hi; i++) {
    let x = work[i];
    if (kept(x, key_of(x), i, cut_k, cut_p)) {
      if (bin_of(x) < b_star) { mi = df_add(mi, vec2f(weight(x), 0.0)); } else { ms = df_add(ms, vec2f(weight(x), 0.0)); }
    }
  }
  let mass_id = wg_sum_df(mi, lid);
  let mass_sorted = wg_sum_df(ms, lid);
  let total = df_add(mass_id, mass_sorted);
  if (lid == 0u) {
    let hi27 = next_u32() >> 5u;
    let lo26 = next_u32() >> 6u;
    // u = (hi27·2^26 + lo26) / 2^53 as (24 bits, next 24 bits): the last 5 bits are dropped.
    let u = quick_two_sum(f32(hi27 >> 3u) * 5.9604645e-8, f32(((hi27 & 7u) << 21u) | (lo26 >> 5u)) * 3.5527137e-15);
    sh_df = df_mul(u, total);
  }
  let goal = workgroupUniformLoad(&sh_df);
  if (df_gt(mass_id, goal)) {
    red_df[lid] = mi;
    workgroupBarrier();
    if (lid == 0u) {
      var acc = vec2f(0.0);
      sh_u2 = 0u;
      for (var t = 0u; t < WG_SIZE; t++) {
        let next = df_add(acc, red_df[t]);
        if (df_gt(next, goal)) { sh_u2 = t; break; }
        acc = next;
      }
      sh_df = acc;
    }
    workgroupBarrier();
    if (lid == sh_u2) {
      var acc = sh_df;
      var last = lo;
      for (var i = lo; i < hi; i++) {
        let x = work[i];
        if (kept(x, key_of(x), i, cut_k, cut_p) && bin_of(x) < b_star) {
          acc = df_add(acc, vec2f(weight(x), 0.0));
          last = i;
          if (df_gt(acc, goal)) { break; }
        }
      }
      out[0] = last;
      out[1] = 0u;
    }
    return;
  }
  let c = mass_cut(1u, mass_id, goal, true, cut_k, cut_p, b_star, lid);
  if (lid == 0u) {
    out[1] = 0u;
    if (c.z == 1u) { out[0] = c.y; }
  }
  // Not found: rounding left the goal past the last weight (the CPU takes its last candidate;
  // here the most likely token). u < 1 and double-f32 sums make this unreachable in practice.
  if (lid == 0u && c.z == 0u) { out[0] = top.y; }
}
