// Gated activation: out[i] = act(gate[i]) * up[i] (shaders/lib/glu_act.wgsl), element i of n at
// row i / cols, column i % cols of gate and up (rows in_stride apart) and at i of out.
//   default: SwiGLU (silu).
//   GELU:    GeGLU with gelu's tanh approximation.
//   GELU_F16 (with GELU): as llama.cpp's CPU backend computes it (GGML_GELU_FP16): x rounded to
//            f16, gelu of that, rounded to f16; x <= -10 gives 0 and x >= 10 gives x.
//#include "grid.wgsl"
//#include "tanh.wgsl"
//#include "round_f16.wgsl"
//#include "glu_act.wgsl"

struct Params {
  n: u32,            // elements
  gate_offset: u32,  // element offset into gate
  up_offset: u32,    // element offset into up
  out_offset: u32,   // element offset into out
  cols: u32,         // elements per row (n for one row)
  in_stride: u32,    // elements between rows of gate and of up
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
// out may be gate (OUT_IS_GATE; with UP_IS_GATE too, all three are one buffer) or up (OUT_IS_UP):
// each element is read and written by the same invocation, so that is safe in place.
//#ifdef OUT_IS_GATE
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;  // (n) f32
//#else
@group(0) @binding(1) var<storage, read> gate: array<f32>;        // (n) f32
//#endif
//#ifdef UP_IS_GATE
fn load_up(i: u32) -> f32 { return gate[i]; }
//#else
//#ifdef OUT_IS_UP
@group(0) @binding(2) var<storage, read_write> up: array<f32>;    // (n) f32
//#else
@group(0) @binding(2) var<storage, read> up: array<f32>;          // (n) f32
//#endif
fn load_up(i: u32) -> f32 { return up[i]; }
//#endif
//#ifdef OUT_IS_GATE
fn store_out(i: u32, v: f32) { gate[i] = v; }
//#else
//#ifdef OUT_IS_UP
fn store_out(i: u32, v: f32) { up[i] = v; }
//#else
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // (n) f32
fn store_out(i: u32, v: f32) { out[i] = v; }
//#endif
//#endif

fn act(x: f32) -> f32 {
//#ifdef GELU
//#ifdef GELU_F16
  if (x <= -10.0) { return 0.0; }
  if (x >= 10.0) { return x; }
  return round_f16(gelu_tanh(round_f16(x)));
//#else
  return gelu_tanh(x);
//#endif
//#else
  return silu(x);
//#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (i >= params.n) { return; }
  let at = (i / params.cols) * params.in_stride + i % params.cols;
  store_out(params.out_offset + i, act(gate[params.gate_offset + at]) * load_up(params.up_offset + at));
}
