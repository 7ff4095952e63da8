// Q4_0 weights (src/kernels/weight-formats.ts): blocks of 32 values, value = d·(q − 8) with q a
// nibble and d an f16; byte j of a block's 16 quant bytes holds q[j] (low nibble) and q[j + 16]
// (high). A part holds every block's quant bytes first (4 u32 per block), then every block's d
// (2 per u32). The including kernel binds `w: array<u32>` and defines w_part_blocks().
fn q4_0_scale(block: u32) -> f32 {
  return unpack2x16float(w[w_part_blocks() * 4u + (block >> 1u)])[block & 1u];
}

// Values e..e+3 of the part (e % 4 == 0): four consecutive nibbles, low or high, of one u32.
fn load_w4(e: u32) -> vec4<f32> {
  let block = e >> 5u;
  let j = e & 31u;
  let word = w[block * 4u + ((j & 15u) >> 2u)];
  let q = (word >> ((j >> 4u) * 4u)) & 0x0f0f0f0fu;
  let v = vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u));
  return (v - 8.0) * q4_0_scale(block);
}
