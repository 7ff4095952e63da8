// Q6_K weights (src/kernels/weight-formats.ts), ggml's 210-byte super-blocks of 256 values padded to
// 212 bytes (53 u32): u32 0..31 = 128 bytes ql (low nibbles), 32..47 = 64 bytes qh (2-bit highs),
// 48..51 = 16 i8 scales, 52 = f16 d (low half). Value 128h + 32g + l (half h, group g < 4, l < 32):
// low nibble (g < 2) or high nibble (g ≥ 2) of ql byte 64h + 32(g % 2) + l, bits 2g..2g+1 of qh
// byte 32h + l, scale 8h + 2g + l / 16: d·sc·(q − 32).
fn load_w4(e: u32) -> vec4<f32> {
  let base = (e >> 8u) * 53u;
  let i = e & 255u;
  let h = i >> 7u;
  let g = (i >> 5u) & 3u;
  let l = i & 31u;
  let lo = (w[base + ((64u * h + 32u * (g & 1u) + l) >> 2u)] >> ((g >> 1u) * 4u)) & 0x0f0f0f0fu;
  let hi = (w[base + 32u + ((32u * h + l) >> 2u)] >> (2u * g)) & 0x03030303u;
  let q = lo | (hi << 4u);
  let v = vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u)) - 32.0;
  let s = 8u * h + 2u * g + (l >> 4u);
  let sc = f32(extractBits(bitcast<i32>(w[base + 48u + (s >> 2u)]), (s & 3u) * 8u, 8u));
  return (unpack2x16float(w[base + 52u]).x * sc) * v;
}

// Four 6-bit values of group g from a ql u32 (its nibble g / 2) and a qh u32 (its bits 2g..2g+1), minus 32.
fn q6_values(ql: u32, qh: u32, g: u32) -> vec4<f32> {
  let q = ((ql >> ((g >> 1u) * 4u)) & 0x0f0f0f0fu) | (((qh >> (2u * g)) & 0x03030303u) << 4u);
  return vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u)) - 32.0;
}

// Σ over values e..e+31 (e % 32 == 0: group g of half h, two 16-value scales) of w·x.
fn dot_w32(e: u32, x: X32) -> f32 {
  let base = (e >> 8u) * 53u;
  let i = e & 255u;
  let h = i >> 7u;
  let g = (i >> 5u) & 3u;
  let s = 8u * h + 2u * g;  // even: s + 1 is in the same u32
  let sw = bitcast<i32>(w[base + 48u + (s >> 2u)]);
  let sc0 = f32(extractBits(sw, (s & 3u) * 8u, 8u));
  let sc1 = f32(extractBits(sw, ((s & 3u) + 1u) * 8u, 8u));
  let l = base + 16u * h + 8u * (g & 1u);
  let q = base + 32u + 8u * h;
  let first = dot(q6_values(w[l], w[q], g), x.v0) + dot(q6_values(w[l + 1u], w[q + 1u], g), x.v1) +
              dot(q6_values(w[l + 2u], w[q + 2u], g), x.v2) + dot(q6_values(w[l + 3u], w[q + 3u], g), x.v3);
  let second = dot(q6_values(w[l + 4u], w[q + 4u], g), x.v4) + dot(q6_values(w[l + 5u], w[q + 5u], g), x.v5) +
               dot(q6_values(w[l + 6u], w[q + 6u], g), x.v6) + dot(q6_values(w[l + 7u], w[q + 7u], g), x.v7);
  return unpack2x16float(w[base + 52u]).x * (sc0 * first + sc1 * second);
}
