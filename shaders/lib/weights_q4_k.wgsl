// Q4_K weights (src/kernels/weight-formats.ts), ggml's 144-byte super-blocks of 256 values kept as
// they are (36 u32 each): u32 0 = f16 d | f16 dmin, u32 1..3 = 12 bytes of 6-bit scales and mins of
// the 8 sub-blocks of 32, u32 4..35 = 128 bytes of nibbles. Value 64c + 32h + l (chunk c, half h,
// 0 ≤ l < 32) is nibble h of byte 32c + l, in sub-block 2c + h: d·sc·q − dmin·m.
fn q4_k_byte(base: u32, i: u32) -> u32 {  // byte i of the 12 scale bytes
  return (w[base + 1u + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu;
}

// (sc, m) of sub-block j: j < 4 in the low 6 bits of bytes j and j + 4; j ≥ 4 split over a nibble
// of byte j + 4 and the top two bits of bytes j − 4 (sc) and j (m).
fn q4_k_scale_min(base: u32, j: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(q4_k_byte(base, j) & 63u), f32(q4_k_byte(base, j + 4u) & 63u));
  }
  let b = q4_k_byte(base, j + 4u);
  let sc = (b & 15u) | ((q4_k_byte(base, j - 4u) >> 6u) << 4u);
  let m = (b >> 4u) | ((q4_k_byte(base, j) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}

// Values e..e+3 of the part (e % 4 == 0).
fn load_w4(e: u32) -> vec4<f32> {
  let base = (e >> 8u) * 36u;
  let i = e & 255u;
  let c = i >> 6u;
  let h = (i >> 5u) & 1u;
  let l = i & 31u;
  let dm = unpack2x16float(w[base]);
  let sm = q4_k_scale_min(base, 2u * c + h);
  let q = (w[base + 4u + ((32u * c + l) >> 2u)] >> (h * 4u)) & 0x0f0f0f0fu;
  let v = vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u));
  return (dm.x * sm.x) * v - vec4<f32>(dm.y * sm.y);
}

fn q4k_nibbles(q: u32) -> vec4<f32> {
  return vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u));
}

// Σ over one sub-block (values e..e+31, e % 32 == 0) of w·x = d·sc·Σ q·x − dmin·m·Σ x.
fn dot_w32(e: u32, x: X32) -> f32 {
  let base = (e >> 8u) * 36u;
  let i = e & 255u;
  let c = i >> 6u;
  let h = (i >> 5u) & 1u;
  let dm = unpack2x16float(w[base]);
  let sm = q4_k_scale_min(base, 2u * c + h);
  let b = base + 4u + 8u * c;
  let sh = h * 4u;
  let m = 0x0f0f0f0fu;
  let qx = dot(q4k_nibbles((w[b] >> sh) & m), x.v0) + dot(q4k_nibbles((w[b + 1u] >> sh) & m), x.v1) +
           dot(q4k_nibbles((w[b + 2u] >> sh) & m), x.v2) + dot(q4k_nibbles((w[b + 3u] >> sh) & m), x.v3) +
           dot(q4k_nibbles((w[b + 4u] >> sh) & m), x.v4) + dot(q4k_nibbles((w[b + 5u] >> sh) & m), x.v5) +
           dot(q4k_nibbles((w[b + 6u] >> sh) & m), x.v6) + dot(q4k_nibbles((w[b + 7u] >> sh) & m), x.v7);
  return dm.x * sm.x * qx - dm.y * sm.y * x32_sum(x);
}
