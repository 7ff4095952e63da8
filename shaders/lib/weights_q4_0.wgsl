// Q4_0 weights (src/kernels/weight-formats.ts): blocks of 32 values, value = d·(q − 8) with q a
// nibble and d an f16; byte j of a block's 16 quant bytes holds q[j] (low nibble) and q[j + 16]
// (high). A part holds every block's quant bytes first (4 u32 per block), then every block's d
// (2 per u32). The including kernel binds `w: array<u32>` and defines w_part_blocks().
fn q4_0_scale(block: u32) -> f32 {
  return unpack2x16float(w[w_part_blocks() * 4u + (block >> 1u)])[block & 1u];
}

fn q4_nibbles(q: u32) -> vec4<f32> {  // four bytes holding 0..15 each
  return vec4<f32>(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u));
}

// Values e..e+3 of the part (e % 4 == 0): four consecutive nibbles, low or high, of one u32.
fn load_w4(e: u32) -> vec4<f32> {
  let block = e >> 5u;
  let j = e & 31u;
  let word = w[block * 4u + ((j & 15u) >> 2u)];
  let q = (word >> ((j >> 4u) * 4u)) & 0x0f0f0f0fu;
  return (q4_nibbles(q) - 8.0) * q4_0_scale(block);
}

// Σ over one block (values e..e+31, e % 32 == 0) of w·x = d·(Σ q·x − 8·Σ x).
fn dot_w32(e: u32, x: X32) -> f32 {
  let block = e >> 5u;
  let b = block * 4u;
  let w0 = w[b]; let w1 = w[b + 1u]; let w2 = w[b + 2u]; let w3 = w[b + 3u];
  let m = 0x0f0f0f0fu;
  let qx = dot(q4_nibbles(w0 & m), x.v0) + dot(q4_nibbles(w1 & m), x.v1) + dot(q4_nibbles(w2 & m), x.v2) + dot(q4_nibbles(w3 & m), x.v3) +
           dot(q4_nibbles((w0 >> 4u) & m), x.v4) + dot(q4_nibbles((w1 >> 4u) & m), x.v5) +
           dot(q4_nibbles((w2 >> 4u) & m), x.v6) + dot(q4_nibbles((w3 >> 4u) & m), x.v7);
  return q4_0_scale(block) * (qx - 8.0 * x32_sum(x));
}
