// What the three matrix kernels (matmul_gemv, matmul_gemv_rows, matmul) share: their Params and the weight,
// output and bias bindings. Each kernel declares x (binding 1) itself.
// The GEMV kernels' fusions: NORM, each row of x RMS-normalized on the way in (norm_w binding after
// y and bias); GLU, the part holds [gate; up] (w_rows = 2n) and y = act(x·gateᵀ) * (x·upᵀ).
struct Params {
  m: u32,            // rows of x and y
  n: u32,            // output columns this dispatch produces (rows of the part; half of them with GLU)
  k: u32,            // inner dimension (columns of x and of w)
  x_offset: u32,     // element offset of x[0, 0]
  y_offset: u32,     // element offset of y[0, part's first column]
  y_stride: u32,     // elements between rows of y
  bias_offset: u32,  // element offset of bias for the part's first row
  accumulate: u32,   // 1: y += result, 0: y = result
  w_rows: u32,       // rows the part's buffer holds (where quantized scales start)
  norm_eps: f32,     // NORM: added to each x row's mean square
  norm_offset: f32,  // NORM: added to each norm weight (Gemma's 1 + w)
}

@group(0) @binding(0) var<uniform> params: Params;
//#ifdef QUANT
@group(0) @binding(2) var<storage, read> w: array<u32>;
fn w_part_blocks() -> u32 { return params.w_rows * (params.k / 32u); }  // 32-value blocks in this part
//#else
//#ifdef F16
//#ifdef W_VEC4
@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;
//#else
@group(0) @binding(2) var<storage, read> w: array<u32>;
//#endif
//#else
//#ifdef W_VEC4
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
//#else
@group(0) @binding(2) var<storage, read> w: array<f32>;
//#endif
//#endif
//#endif
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
//#ifdef BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
//#ifdef NORM
@group(0) @binding(5) var<storage, read> norm_w: array<f32>;  // (k) f32
//#endif
//#else
//#ifdef NORM
@group(0) @binding(4) var<storage, read> norm_w: array<f32>;  // (k) f32
//#endif
//#endif
