// What the three matrix kernels (matmul_gemv, matmul_gemv_rows, matmul) share: their Params and the weight,
// output and bias bindings. Each kernel declares x (binding 1) itself.
struct Params {
  m: u32,            // rows of x and y
  n: u32,            // rows of this weight part (output columns it produces)
  k: u32,            // inner dimension (columns of x and of w)
  x_offset: u32,     // element offset of x[0, 0]
  y_offset: u32,     // element offset of y[0, part's first column]
  y_stride: u32,     // elements between rows of y
  bias_offset: u32,  // element offset of bias for the part's first row
  accumulate: u32,   // 1: y += result, 0: y = result
}

@group(0) @binding(0) var<uniform> params: Params;
//#ifdef QUANT
@group(0) @binding(2) var<storage, read> w: array<u32>;
fn w_part_blocks() -> u32 { return params.n * (params.k / 32u); }  // 32-value blocks in this part
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
//#endif
