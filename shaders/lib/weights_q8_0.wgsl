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

fn q8_bytes(q: u32) -> vec4<f32> {  // four i8
  let v = bitcast<vec4<i32>>(vec4<u32>(q << 24u, q << 16u, q << 8u, q)) >> vec4<u32>(24u);
  return vec4<f32>(v);
}

// Σ over one block (values e..e+31, e % 32 == 0) of w·x.
fn dot_w32(e: u32, x: X32) -> f32 {
  let b = e >> 2u;
  let s = dot(q8_bytes(w[b]), x.v0) + dot(q8_bytes(w[b + 1u]), x.v1) + dot(q8_bytes(w[b + 2u]), x.v2) + dot(q8_bytes(w[b + 3u]), x.v3) +
          dot(q8_bytes(w[b + 4u]), x.v4) + dot(q8_bytes(w[b + 5u]), x.v5) + dot(q8_bytes(w[b + 6u]), x.v6) + dot(q8_bytes(w[b + 7u]), x.v7);
  return q8_0_scale(e >> 5u) * s;
}
