// Barrier-free GEMV for small m on CPU adapters (SwiftShader runs workgroup barriers slowly):
// y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], one invocation per output column j of this weight
// part, looping over the m rows of x (the weight row stays in cache between them).
// Fusions as in matmul_gemv.wgsl: NORM (each x row's Σx² shared through workgroup memory: the one
// barrier per row of x), GLU (the part is [gate; up]: invocation j reads rows j and n + j).
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"
//#ifdef GLU
//#ifdef GELU
//#include "tanh.wgsl"
//#endif
//#include "glu_act.wgsl"
//#endif

override WG_SIZE: u32 = 64u;

@group(0) @binding(1) var<storage, read> x: array<f32>;

//#ifdef QUANT
//#include "matmul_x32.wgsl"
//#endif

//#ifdef NORM
var<workgroup> squares: array<f32, WG_SIZE>;

// 1 / rms of x[xb ..], from every invocation's share of the squares (call from uniform control flow).
fn inv_rms(xb: u32, lid: u32) -> f32 {
  var ss = 0.0;
  for (var c = lid; c < params.k; c += WG_SIZE) { ss += x[xb + c] * x[xb + c]; }
  workgroupBarrier();  // the previous row's readers are done
  squares[lid] = ss;
  workgroupBarrier();
  var t = 0.0;
  for (var j = 0u; j < WG_SIZE; j++) { t += squares[j]; }
  return inverseSqrt(t / f32(params.k) + params.norm_eps);
}
//#endif

// Σ_k x[xb + k]·w[wb + k], x times the norm weights with NORM.
fn dot_row(xb: u32, wb: u32) -> f32 {
  let k = params.k;
  //#ifdef QUANT
  // Quantized rows are whole 32-value blocks: dequantize a block at a time (one scale read).
  var v = 0.0;
  for (var c = 0u; c < k; c += 32u) { v += dot_w32(wb + c, load_x32(xb, c)); }
  return v;
  //#else
  let k4 = k & ~3u;
  var acc = vec4<f32>();
  for (var c = 0u; c < k4; c += 4u) {
    var xv = vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]);
    //#ifdef NORM
    xv *= vec4<f32>(norm_w[c], norm_w[c + 1u], norm_w[c + 2u], norm_w[c + 3u]) + params.norm_offset;
    //#endif
    acc += xv * load_w4(wb + c);
  }
  var v = acc.x + acc.y + acc.z + acc.w;
  for (var c = k4; c < k; c++) {
    var xv = x[xb + c];
    //#ifdef NORM
    xv *= norm_w[c] + params.norm_offset;
    //#endif
    v += xv * load_w1(wb + c);
  }
  return v;
  //#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  //#ifdef NORM
  if (linear_workgroup(wg, num_wg) * WG_SIZE >= params.n) { return; }  // whole workgroup: uniform
  //#else
  if (j >= params.n) { return; }
  //#endif
  let live = j < params.n;
  let jr = min(j, params.n - 1u);  // lanes past n (NORM keeps them for the barrier) compute a duplicate
  for (var i = 0u; i < params.m; i++) {
    let xb = params.x_offset + i * params.k;
    var v = dot_row(xb, jr * params.k);
    //#ifdef NORM
    let s = inv_rms(xb, lid);
    v *= s;
    //#endif
    //#ifdef GLU
    var u = dot_row(xb, (params.n + jr) * params.k);
    //#ifdef NORM
    u *= s;
    //#endif
    //#ifdef GELU
    v = gelu_tanh(v) * u;
    //#else
    v = silu(v) * u;
    //#endif
    //#endif
    //#ifdef BIAS
    v += bias[params.bias_offset + jr];
    //#endif
    let yi = params.y_offset + i * params.y_stride + jr;
    if (live) {
      if (params.accumulate != 0u) { v += y[yi]; }
      y[yi] = v;
    }
  }
}
