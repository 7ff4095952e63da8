// Tiled matmul for prefill: y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], for one row part of w.
// Barrier-free (SwiftShader runs workgroup barriers slowly): each invocation computes a TM x 4 register
// tile, TM rows of x by 4 rows of w, reading four k elements of each per step. Neighbouring
// invocations take neighbouring column tiles of the same x rows, so x stays in cache.
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"

override WG_SIZE: u32 = 64u;
const TM: u32 = 8u;  // x rows per invocation (w rows: 4)

//#ifdef X_VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
fn load_x4(e: u32) -> vec4<f32> { return x[e >> 2u]; }
fn load_x1(e: u32) -> f32 { return x[e >> 2u][e & 3u]; }
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
fn load_x4(e: u32) -> vec4<f32> { return vec4<f32>(x[e], x[e + 1u], x[e + 2u], x[e + 3u]); }
fn load_x1(e: u32) -> f32 { return x[e]; }
//#endif

fn store(i: u32, j: u32, acc: f32) {
  var v = acc;
  //#ifdef BIAS
  v += bias[params.bias_offset + j];
  //#endif
  let yi = params.y_offset + i * params.y_stride + j;
  if (params.accumulate != 0u) { v += y[yi]; }
  y[yi] = v;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (params.n + 3u) / 4u;
  let tile = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let i0 = (tile / tiles_n) * TM;
  let j0 = (tile % tiles_n) * 4u;
  if (i0 >= params.m) { return; }
  let k = params.k;
  let k4 = k & ~3u;
  // Rows past m or n read a clamped duplicate and are never stored.
  var xb: array<u32, TM>;
  var wb: array<u32, 4>;
  for (var r = 0u; r < TM; r++) { xb[r] = params.x_offset + min(i0 + r, params.m - 1u) * k; }
  for (var r = 0u; r < 4u; r++) { wb[r] = min(j0 + r, params.n - 1u) * k; }
  var acc: array<vec4<f32>, TM>;  // acc[r][c]: x row i0 + r, w row j0 + c
  for (var c = 0u; c < k4; c += 4u) {
    let w0 = load_w4(wb[0] + c);
    let w1 = load_w4(wb[1] + c);
    let w2 = load_w4(wb[2] + c);
    let w3 = load_w4(wb[3] + c);
    for (var r = 0u; r < TM; r++) {
      let xv = load_x4(xb[r] + c);
      acc[r] += vec4<f32>(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
    }
  }
  for (var c = k4; c < k; c++) {
    let wv = vec4<f32>(load_w1(wb[0] + c), load_w1(wb[1] + c), load_w1(wb[2] + c), load_w1(wb[3] + c));
    for (var r = 0u; r < TM; r++) { acc[r] += load_x1(xb[r] + c) * wv; }
  }
  for (var r = 0u; r < TM; r++) {
    if (i0 + r >= params.m) { break; }
    for (var c = 0u; c < 4u; c++) {
      if (j0 + c < params.n) { store(i0 + r, j0 + c, acc[r][c]); }
    }
  }
}
