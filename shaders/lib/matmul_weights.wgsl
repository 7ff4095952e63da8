// Reads of a (rows, k) weight part `w`, declared by the including kernel as:
//   F16 + W_VEC4: array<vec2<u32>>   F16: array<u32>   W_VEC4: array<vec4<f32>>   else: array<f32>
//   QUANT (with Q8_0, Q4_0, Q4_K or Q6_K): array<u32>, dequantized here (weights_<format>.wgsl)
// Packed f16 holds two values per u32, low half first. Indices are ELEMENT indices into the part.
// load_w4(e) needs e % 4 == 0 with W_VEC4 or QUANT and e % 2 == 0 with F16; load_w1 takes any index.
//#ifdef QUANT
// 32 consecutive values of x, for dot_w32(e, x): Σ over one 32-value block of the part (e % 32 == 0).
struct X32 { v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32> }
fn x32_sum(x: X32) -> f32 { return dot(((x.v0 + x.v1) + (x.v2 + x.v3)) + ((x.v4 + x.v5) + (x.v6 + x.v7)), vec4<f32>(1.0)); }
//#ifdef Q8_0
//#include "weights_q8_0.wgsl"
//#endif
//#ifdef Q4_0
//#include "weights_q4_0.wgsl"
//#endif
//#ifdef Q4_K
//#include "weights_q4_k.wgsl"
//#endif
//#ifdef Q6_K
//#include "weights_q6_k.wgsl"
//#endif
fn load_w1(e: u32) -> f32 { return load_w4(e & ~3u)[e & 3u]; }
//#else
//#ifdef F16
//#ifdef W_VEC4
fn load_w4(e: u32) -> vec4<f32> {
  let p = w[e >> 2u];
  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));
}
//#else
fn load_w4(e: u32) -> vec4<f32> {
  let i = e >> 1u;
  return vec4<f32>(unpack2x16float(w[i]), unpack2x16float(w[i + 1u]));
}
//#endif
fn load_w1(e: u32) -> f32 {
  //#ifdef W_VEC4
  let p = w[e >> 2u];
  let h = select(p.x, p.y, (e & 2u) != 0u);
  //#else
  let h = w[e >> 1u];
  //#endif
  return unpack2x16float(h)[e & 1u];
}
//#else
//#ifdef W_VEC4
fn load_w4(e: u32) -> vec4<f32> { return w[e >> 2u]; }
fn load_w1(e: u32) -> f32 { return w[e >> 2u][e & 3u]; }
//#else
fn load_w4(e: u32) -> vec4<f32> { return vec4<f32>(w[e], w[e + 1u], w[e + 2u], w[e + 3u]); }
fn load_w1(e: u32) -> f32 { return w[e]; }
//#endif
//#endif
//#endif
