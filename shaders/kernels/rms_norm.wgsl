// RMSNorm per row: y[r, c] = x[r, c] / sqrt(mean_c(x[r, :]²) + eps) * (weight[c] + weight_offset).
// One workgroup per row; each invocation strides over the columns, then one workgroup sum.
// IN_PLACE: y is x (one read_write binding; the same invocation reads then writes each element).
// ACCUMULATE: y += the normed row (Gemma's post-norms, added onto the residual stream).
//#ifdef SUBGROUPS
enable subgroups;
//#endif
//#include "grid.wgsl"
//#include "reduce_sum.wgsl"

struct Params {
  rows: u32,      // rows to normalize
  cols: u32,      // elements per row (weight length)
  x_offset: u32,  // element offset of row 0 in x
  y_offset: u32,  // element offset of row 0 in y (in x when IN_PLACE)
  eps: f32,       // added to the mean square
  weight_offset: f32, // added to each weight (Gemma's 1 + w; else 0)
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
//#ifdef IN_PLACE
@group(0) @binding(1) var<storage, read_write> x: array<f32>;   // (rows, cols) f32, becomes y
@group(0) @binding(2) var<storage, read> weight: array<f32>;    // (cols) f32
fn store_y(i: u32, v: f32) { x[i] = v; }
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;         // (rows, cols) f32
@group(0) @binding(2) var<storage, read> weight: array<f32>;    // (cols) f32
@group(0) @binding(3) var<storage, read_write> y: array<f32>;   // (rows, cols) f32
//#ifdef ACCUMULATE
fn store_y(i: u32, v: f32) { y[i] = y[i] + v; }
//#else
fn store_y(i: u32, v: f32) { y[i] = v; }
//#endif
//#endif

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>, inv: Invocation) {
  let row = linear_workgroup(wg, num_wg);
  if (row >= params.rows) { return; }  // whole workgroup: uniform
  let xs = params.x_offset + row * params.cols;
  let ys = params.y_offset + row * params.cols;
  var ss = 0.0;
  for (var c = inv.lid; c < params.cols; c += WG_SIZE) {
    let v = x[xs + c];
    ss += v * v;
  }
  let total = workgroup_sum(ss, inv);
  let scale = inverseSqrt(total / f32(params.cols) + params.eps);
  for (var c = inv.lid; c < params.cols; c += WG_SIZE) {
    store_y(ys + c, x[xs + c] * scale * (weight[c] + params.weight_offset));
  }
}
