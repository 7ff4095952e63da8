// Q8_0 weights (src/kernels/weight-formats.ts): blocks of 32 values, value = d·q with q an i8 and d
// an f16. A part holds every block's 32 quants first (4 per u32), then every block's d (2 per u32).
// The including kernel binds `w: array<u32>` and defines w_part_blocks() (blocks in the part).
fn q8_0_scale(block: u32) -> f32 {
  return unpack2x16float(w[w_part_blocks() * 8u + (block >> 1u)])[block & 1u];
}

// Values e..e+3 of the part (e % 4 == 0).
fn load_w4(e: u32) -> vec4<f32> {
  let q = bitcast<i32>(w[e >> 2u]);
  let v = vec4<i32>(extractBits(q, 0u, 8u), extractBits(q, 8u, 8u), extractBits(q, 16u, 8u), extractBits(q, 24u, 8u));
  return vec4<f32>(v) * q8_0_scale(e >> 5u);
}
