// The epilogue of a fused q/k/v projection: row r of qkv holds heads q vectors, then kv_heads k
// vectors, then kv_heads v vectors (head_dim each). One workgroup per vector writes it where
// attention reads it: q to q (rows of heads·head_dim), k and v to the cache rows at kv_offset.
// On the way, q and k get QK_NORM's per-head RMSNorm (Qwen3, Gemma 3) and, when `rope` is set,
// rotary embedding as shaders/kernels/rope.wgsl applies it (pairs (i, i + rot_dim/2), position
// start_pos + r, cos and sin scaled by `scale`); v is copied. KV_F16: the cache holds packed f16
// pairs (the optional f16 KV cache), written a pair per invocation.
//#include "grid.wgsl"
//#include "trig.wgsl"
//#include "reduce_sum.wgsl"

struct Params {
  rows: u32,          // rows (positions) of qkv
  heads: u32,         // q vectors per row
  kv_heads: u32,      // k and v vectors per row
  head_dim: u32,      // elements per vector
  rot_dim: u32,       // leading elements of q and k vectors that rotate (even, <= head_dim)
  kv_offset: u32,     // element offset of row 0 in the k and v caches
  start_pos: u32,     // RoPE position of row 0
  rope: u32,          // 1: rotate q and k; 0: leave them (the memory writer rotates after reading them)
  scale: f32,         // cos and sin are multiplied by it (1 but for LongRoPE's attention factor)
  eps: f32,           // QK_NORM: added to the mean square
  norm_offset: f32,   // QK_NORM: added to each norm weight
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;         // (rows, (heads + 2·kv_heads)·head_dim)
@group(0) @binding(2) var<storage, read_write> q: array<f32>;     // (rows, heads·head_dim)
//#ifdef KV_F16
@group(0) @binding(3) var<storage, read_write> k: array<u32>;     // cache rows (kv_heads·head_dim each), f16 pairs
@group(0) @binding(4) var<storage, read_write> v: array<u32>;
//#else
@group(0) @binding(3) var<storage, read_write> k: array<f32>;     // cache rows (kv_heads·head_dim each)
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
//#endif
@group(0) @binding(5) var<storage, read> inv_freq: array<f32>;    // (rot_dim/2) f32
//#ifdef QK_NORM
@group(0) @binding(6) var<storage, read> q_norm: array<f32>;      // (head_dim) f32
@group(0) @binding(7) var<storage, read> k_norm: array<f32>;      // (head_dim) f32
//#endif

// Element c of the vector at src, normed when it is a q (kind 0) or k (kind 1) vector.
fn value(kind: u32, src: u32, c: u32, inv_rms: f32) -> f32 {
  let x = qkv[src + c];
  //#ifdef QK_NORM
  if (kind == 0u) { return x * inv_rms * (q_norm[c] + params.norm_offset); }
  if (kind == 1u) { return x * inv_rms * (k_norm[c] + params.norm_offset); }
  //#endif
  return x;
}

// Elements at and at + 1 (at even).
fn store2(kind: u32, at: u32, x: vec2<f32>) {
  if (kind == 0u) {
    q[at] = x.x;
    q[at + 1u] = x.y;
    return;
  }
  //#ifdef KV_F16
  if (kind == 1u) { k[at >> 1u] = pack2x16float(x); } else { v[at >> 1u] = pack2x16float(x); }
  //#else
  if (kind == 1u) { k[at] = x.x; k[at + 1u] = x.y; } else { v[at] = x.x; v[at + 1u] = x.y; }
  //#endif
}

// Element c as it is stored: normed, and rotated where `rotate`.
fn element(kind: u32, src: u32, c: u32, inv_rms: f32, rotate: bool, r: u32) -> f32 {
  let x = value(kind, src, c, inv_rms);
  if (!rotate || c >= params.rot_dim) { return x; }
  let half_dim = params.rot_dim / 2u;
  let i = c % half_dim;
  let cs = sincos_f32(f32(params.start_pos + r) * inv_freq[i]) * params.scale;
  if (c < half_dim) { return x * cs.x - value(kind, src, c + half_dim, inv_rms) * cs.y; }
  return x * cs.x + value(kind, src, i, inv_rms) * cs.y;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>, inv: Invocation) {
  let slots = params.heads + 2u * params.kv_heads;
  let g = linear_workgroup(wg, num_wg);
  if (g >= params.rows * slots) { return; }  // whole workgroup: uniform
  let r = g / slots;
  let s = g % slots;
  let d = params.head_dim;
  let src = g * d;
  var kind = 2u;
  var dst = params.kv_offset + r * params.kv_heads * d + (s - params.heads - params.kv_heads) * d;
  if (s < params.heads) {
    kind = 0u;
    dst = r * params.heads * d + s * d;
  } else if (s < params.heads + params.kv_heads) {
    kind = 1u;
    dst = params.kv_offset + r * params.kv_heads * d + (s - params.heads) * d;
  }
  var inv_rms = 1.0;
  //#ifdef QK_NORM
  if (kind < 2u) {  // uniform: kind depends on the workgroup only
    var ss = 0.0;
    for (var c = inv.lid; c < d; c += WG_SIZE) {
      let x = qkv[src + c];
      ss += x * x;
    }
    inv_rms = inverseSqrt(workgroup_sum(ss, inv) / f32(d) + params.eps);
  }
  //#endif
  let rotate = kind < 2u && params.rope != 0u;
  for (var c = inv.lid * 2u; c < d; c += WG_SIZE * 2u) {  // head_dim is even: pairs
    store2(kind, dst + c, vec2<f32>(element(kind, src, c, inv_rms, rotate, r), element(kind, src, c + 1u, inv_rms, rotate, r)));
  }
}
