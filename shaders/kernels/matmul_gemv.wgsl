// GEMV for small m (decode): y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], for one row part of w.
// A workgroup computes ROWS consecutive output columns. Its WG_SIZE invocations stride over k four
// elements at a time, so neighbouring invocations read neighbouring 16-byte chunks of each weight
// row, once per row of x (at m = 1, every weight byte once); then the partial sums are reduced:
// a shared-memory tree, or with SUBGROUPS subgroupAdd and one barrier.
// Fusions (shaders/lib/matmul_io.wgsl): NORM, x rows RMS-normalized on the way in (their Σx² is
// reduced with the dot products, so no extra pass or barrier); GLU, the part is [gate; up] and the
// output act(gate·x) * (up·x) (act: silu, or gelu_tanh with GELU).
//#ifdef SUBGROUPS
enable subgroups;
//#endif
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"
//#ifdef GLU
//#ifdef GELU
//#include "tanh.wgsl"
//#endif
//#include "glu_act.wgsl"
//#endif

override WG_SIZE: u32 = 64u;  // a power of two
const ROWS: u32 = 4u;  // output columns per workgroup
//#ifdef GLU
const WROWS: u32 = 8u;  // weight rows read: ROWS of gate, then the same ROWS of up
//#else
const WROWS: u32 = 4u;
//#endif
//#ifdef NORM
const SUMS: u32 = WROWS + 1u;  // the dot products, then Σx² of the row
//#else
const SUMS: u32 = WROWS;
//#endif

@group(0) @binding(1) var<storage, read> x: array<f32>;

//#ifdef QUANT
//#include "matmul_x32.wgsl"
//#endif

var<workgroup> partial: array<f32, WG_SIZE * SUMS>;  // [sum][invocation]

// Element index of weight row r's start; rows past n compute a duplicate, never written.
fn weight_row(row0: u32, r: u32) -> u32 {
  //#ifdef GLU
  if (r >= ROWS) { return (params.n + min(row0 + r - ROWS, params.n - 1u)) * params.k; }
  //#endif
  return min(row0 + r, params.n - 1u) * params.k;
}

// x[xb + c ..] times the norm weights (NORM), and its raw squares.
fn x4(xb: u32, c: u32) -> vec4<f32> {
  let v = vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]);
  //#ifdef NORM
  return v * (vec4<f32>(norm_w[c], norm_w[c + 1u], norm_w[c + 2u], norm_w[c + 3u]) + params.norm_offset);
  //#else
  return v;
  //#endif
}

fn row_partials(xb: u32, row0: u32, lid: u32) -> array<f32, SUMS> {
  let k = params.k;
  let k4 = k & ~3u;
  var acc = array<f32, SUMS>();
  var wrow = array<u32, WROWS>();
  for (var r = 0u; r < WROWS; r++) { wrow[r] = weight_row(row0, r); }
  //#ifdef QUANT
  // Quantized rows are whole 32-value blocks: each invocation takes whole blocks (neighbouring
  // invocations, neighbouring blocks), dequantizing one at a time.
  for (var c = lid * 32u; c < k; c += WG_SIZE * 32u) {
    let xs = load_x32(xb, c);
    for (var r = 0u; r < WROWS; r++) { acc[r] += dot_w32(wrow[r] + c, xs); }
    //#ifdef NORM
    for (var j = 0u; j < 32u; j += 4u) {
      let v = vec4<f32>(x[xb + c + j], x[xb + c + j + 1u], x[xb + c + j + 2u], x[xb + c + j + 3u]);
      acc[WROWS] += dot(v, v);
    }
    //#endif
  }
  return acc;
  //#else
  for (var c = lid * 4u; c < k4; c += WG_SIZE * 4u) {
    let xv = x4(xb, c);
    for (var r = 0u; r < WROWS; r++) { acc[r] += dot(xv, load_w4(wrow[r] + c)); }
    //#ifdef NORM
    let v = vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]);
    acc[WROWS] += dot(v, v);
    //#endif
  }
  for (var c = k4 + lid; c < k; c += WG_SIZE) {
    var xv = x[xb + c];
    //#ifdef NORM
    acc[WROWS] += xv * xv;
    xv *= norm_w[c] + params.norm_offset;
    //#endif
    for (var r = 0u; r < WROWS; r++) { acc[r] += xv * load_w1(wrow[r] + c); }
  }
  return acc;
  //#endif
}

// Sum s over the workgroup, once the partials are in `partial`.
fn total(s: u32) -> f32 {
  //#ifdef SUBGROUPS
  var t = 0.0;  // one subgroup sum per subgroup, zeros elsewhere
  for (var j = 0u; j < WG_SIZE; j++) { t += partial[s * WG_SIZE + j]; }
  return t;
  //#else
  return partial[s * WG_SIZE];
  //#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        //#ifdef SUBGROUPS
        @builtin(subgroup_invocation_id) lane: u32,
        //#endif
        @builtin(local_invocation_index) lid: u32) {
  let row0 = linear_workgroup(wg, num_wg) * ROWS;
  if (row0 >= params.n) { return; }
  for (var i = 0u; i < params.m; i++) {
    let acc = row_partials(params.x_offset + i * params.k, row0, lid);
    //#ifdef SUBGROUPS
    for (var s = 0u; s < SUMS; s++) {
      let t = subgroupAdd(acc[s]);
      partial[s * WG_SIZE + lid] = select(0.0, t, lane == 0u);
    }
    workgroupBarrier();
    //#else
    for (var s = 0u; s < SUMS; s++) { partial[s * WG_SIZE + lid] = acc[s]; }
    for (var h = WG_SIZE / 2u; h > 0u; h >>= 1u) {
      workgroupBarrier();
      if (lid < h) {
        for (var s = 0u; s < SUMS; s++) { partial[s * WG_SIZE + lid] += partial[s * WG_SIZE + lid + h]; }
      }
    }
    workgroupBarrier();
    //#endif
    let row = row0 + lid;
    if (lid < ROWS && row < params.n) {
      var v = total(lid);
      //#ifdef NORM
      let inv_rms = inverseSqrt(total(WROWS) / f32(params.k) + params.norm_eps);
      v *= inv_rms;
      //#endif
      //#ifdef GLU
      var u = total(lid + ROWS);
      //#ifdef NORM
      u *= inv_rms;
      //#endif
      //#ifdef GELU
      v = gelu_tanh(v) * u;
      //#else
      v = silu(v) * u;
      //#endif
      //#endif
      //#ifdef BIAS
      v += bias[params.bias_offset + row];
      //#endif
      let yi = params.y_offset + i * params.y_stride + row;
      if (params.accumulate != 0u) { v += y[yi]; }
      y[yi] = v;
    }
    workgroupBarrier();
  }
}
