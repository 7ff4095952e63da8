// 32 consecutive values of an `x: array<f32>` the including kernel declares, for the quantized
// formats' dot_w32 (shaders/lib/matmul_weights.wgsl).
fn load_x4(i: u32) -> vec4<f32> { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
fn load_x32(i: u32) -> X32 {
  return X32(load_x4(i), load_x4(i + 4u), load_x4(i + 8u), load_x4(i + 12u), load_x4(i + 16u), load_x4(i + 20u), load_x4(i + 24u), load_x4(i + 28u));
}
