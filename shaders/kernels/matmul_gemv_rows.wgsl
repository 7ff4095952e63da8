// Barrier-free GEMV for small m on CPU adapters (SwiftShader runs workgroup barriers slowly):
// y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], one invocation per output row j of this weight part,
// looping over the m rows of x (the weight row stays in cache between them).
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"

override WG_SIZE: u32 = 64u;

@group(0) @binding(1) var<storage, read> x: array<f32>;

//#ifdef QUANT
//#include "matmul_x32.wgsl"
//#endif

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (j >= params.n) { return; }
  let k = params.k;
  let k4 = k & ~3u;
  let wb = j * k;
  for (var i = 0u; i < params.m; i++) {
    let xb = params.x_offset + i * k;
    var acc = vec4<f32>();
    //#ifdef QUANT
    // Quantized rows are whole 32-value blocks: dequantize a block at a time (one scale read).
    var v = 0.0;
    for (var c = 0u; c < k; c += 32u) { v += dot_w32(wb + c, load_x32(xb + c)); }
    //#else
    for (var c = 0u; c < k4; c += 4u) {
      acc += vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]) * load_w4(wb + c);
    }
    var v = acc.x + acc.y + acc.z + acc.w;
    for (var c = k4; c < k; c++) { v += x[xb + c] * load_w1(wb + c); }
    //#endif
    //#ifdef BIAS
    v += bias[params.bias_offset + j];
    //#endif
    let yi = params.y_offset + i * params.y_stride + j;
    if (params.accumulate != 0u) { v += y[yi]; }
    y[yi] = v;
  }
}
