// GEMV for small m (decode): y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], for one row part of w.
// A workgroup computes ROWS consecutive output rows. Its WG_SIZE invocations stride over k four
// elements at a time, so neighbouring invocations read neighbouring 16-byte chunks of each weight
// row, once per row of x (at m = 1, every weight byte once); a shared-memory tree reduction sums
// the partials.
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"

override WG_SIZE: u32 = 64u;  // a power of two
const ROWS: u32 = 4u;

@group(0) @binding(1) var<storage, read> x: array<f32>;

//#ifdef QUANT
//#include "matmul_x32.wgsl"
//#endif

var<workgroup> partial: array<f32, WG_SIZE * ROWS>;  // [row][invocation]

fn row_partials(xb: u32, row0: u32, lid: u32) -> array<f32, ROWS> {
  let k = params.k;
  let k4 = k & ~3u;
  var acc = array<f32, ROWS>();
  //#ifdef QUANT
  // Quantized rows are whole 32-value blocks: each invocation takes whole blocks (neighbouring
  // invocations, neighbouring blocks), dequantizing one at a time.
  for (var c = lid * 32u; c < k; c += WG_SIZE * 32u) {
    let xs = load_x32(xb + c);
    for (var r = 0u; r < ROWS; r++) { acc[r] += dot_w32(min(row0 + r, params.n - 1u) * k + c, xs); }
  }
  return acc;
  //#else
  for (var c = lid * 4u; c < k4; c += WG_SIZE * 4u) {
    let xv = vec4<f32>(x[xb + c], x[xb + c + 1u], x[xb + c + 2u], x[xb + c + 3u]);
    for (var r = 0u; r < ROWS; r++) {
      let row = min(row0 + r, params.n - 1u);  // rows past n compute a duplicate, never written
      acc[r] += dot(xv, load_w4(row * k + c));
    }
  }
  for (var c = k4 + lid; c < k; c += WG_SIZE) {
    for (var r = 0u; r < ROWS; r++) {
      let row = min(row0 + r, params.n - 1u);
      acc[r] += x[xb + c] * load_w1(row * k + c);
    }
  }
  return acc;
  //#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row0 = linear_workgroup(wg, num_wg) * ROWS;
  if (row0 >= params.n) { return; }
  for (var i = 0u; i < params.m; i++) {
    let acc = row_partials(params.x_offset + i * params.k, row0, lid);
    for (var r = 0u; r < ROWS; r++) { partial[r * WG_SIZE + lid] = acc[r]; }
    for (var s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (lid < s) {
        for (var r = 0u; r < ROWS; r++) { partial[r * WG_SIZE + lid] += partial[r * WG_SIZE + lid + s]; }
      }
    }
    workgroupBarrier();
    let row = row0 + lid;
    if (lid < ROWS && row < params.n) {
      var v = partial[lid * WG_SIZE];
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
