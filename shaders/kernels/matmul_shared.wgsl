// Shared-memory tiled matmul for prefill on GPUs: y[i, j] (+)= Σ_k x[i, k]·w[j, k] + bias[j], for
// one row part of w. A workgroup of 256 invocations computes a 64 × 64 tile of y, 4 × 4 outputs
// each, marching over k 32 at a time: every step stages 64 rows × 32 of x and 64 rows × 32 of w
// (dequantized: one 32-value block per row) in workgroup memory, then each invocation accumulates
// its outputs from them, so each weight element is read from memory once per 64 rows of x rather
// than once per row. Two barriers per step: the CPU adapters' barrier-free matmul.wgsl stays theirs.
//#include "grid.wgsl"
//#include "matmul_io.wgsl"
//#include "matmul_weights.wgsl"

override WG_SIZE: u32 = 256u;  // must be 256: 16 × 16 invocations of 4 × 4 outputs
const TILE: u32 = 64u;  // rows of x and of w per workgroup
const KT: u32 = 32u;  // k per step

@group(0) @binding(1) var<storage, read> x: array<f32>;

var<workgroup> xs: array<f32, 2048>;  // TILE × KT: [row][kk]
var<workgroup> ws: array<f32, 2048>;  // TILE × KT

// Four weights w[row, c ..] (zeros past k).
fn w_quad(row: u32, c: u32) -> vec4<f32> {
  let k = params.k;
  if (c + 3u < k) { return load_w4(row * k + c); }
  var v = vec4<f32>();
  for (var i = 0u; i < 4u; i++) {
    if (c + i < k) { v[i] = load_w1(row * k + c + i); }
  }
  return v;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let m = params.m;
  let n = params.n;
  let k = params.k;
  let tiles_n = (n + TILE - 1u) / TILE;
  let t = linear_workgroup(wg, num_wg);
  let i0 = (t / tiles_n) * TILE;
  let j0 = (t % tiles_n) * TILE;
  if (i0 >= m) { return; }  // whole workgroup: uniform
  let tx = lid % 16u;  // output columns j0 + tx*4 ..
  let ty = lid / 16u;  // output rows i0 + ty*4 ..
  var acc = array<vec4<f32>, 4>();
  for (var k0 = 0u; k0 < k; k0 += KT) {
    for (var e = lid; e < TILE * KT; e += WG_SIZE) {
      let r = e / KT;
      let c = k0 + e % KT;
      let i = min(i0 + r, m - 1u);  // rows past m stage a duplicate, never stored
      xs[e] = select(0.0, x[params.x_offset + i * k + min(c, k - 1u)], c < k);
    }
    for (var e = lid; e < TILE * KT / 4u; e += WG_SIZE) {
      let r = e / (KT / 4u);
      let c = (e % (KT / 4u)) * 4u;
      let v = w_quad(min(j0 + r, n - 1u), k0 + c);
      let at = r * KT + c;
      ws[at] = v.x;
      ws[at + 1u] = v.y;
      ws[at + 2u] = v.z;
      ws[at + 3u] = v.w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let b = vec4<f32>(ws[(tx * 4u) * KT + kk], ws[(tx * 4u + 1u) * KT + kk], ws[(tx * 4u + 2u) * KT + kk], ws[(tx * 4u + 3u) * KT + kk]);
      for (var r = 0u; r < 4u; r++) { acc[r] += xs[(ty * 4u + r) * KT + kk] * b; }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + ty * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + tx * 4u + c;
      if (i < m && j < n) {
        var v = acc[r][c];
        //#ifdef BIAS
        v += bias[params.bias_offset + j];
        //#endif
        let yi = params.y_offset + i * params.y_stride + j;
        if (params.accumulate != 0u) { v += y[yi]; }
        y[yi] = v;
      }
    }
  }
}
