// 32 consecutive values x[xb + c ..] of an `x: array<f32>` the including kernel declares, for the
// quantized formats' dot_w32 (shaders/lib/matmul_weights.wgsl); with NORM times the norm weights
// norm_w[c ..] + norm_offset (the row's 1/rms is applied to the sum).
fn load_x4(xb: u32, c: u32) -> vec4<f32> {
  let v = vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]);
  //#ifdef NORM
  return v * (vec4<f32>(norm_w[c], norm_w[c + 1u], norm_w[c + 2u], norm_w[c + 3u]) + params.norm_offset);
  //#else
  return v;
  //#endif
}
fn load_x32(xb: u32, c: u32) -> X32 {
  return X32(load_x4(xb, c), load_x4(xb, c + 4u), load_x4(xb, c + 8u), load_x4(xb, c + 12u), load_x4(xb, c + 16u), load_x4(xb, c + 20u),
             load_x4(xb, c + 24u), load_x4(xb, c + 28u));
}
