// SwiGLU activation: out[i] = silu(gate[i]) * up[i], silu(x) = x * sigmoid(x).
// sigmoid from e = exp(-|x|) ∈ (0, 1], so nothing overflows: silu(±100) = 100 / ~0, never inf/NaN.
//#include "grid.wgsl"

struct Params {
  n: u32,            // elements
  gate_offset: u32,  // element offset into gate
  up_offset: u32,    // element offset into up
  out_offset: u32,   // element offset into out
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;      // (n) f32
@group(0) @binding(2) var<storage, read> up: array<f32>;        // (n) f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // (n) f32

fn silu(x: f32) -> f32 {
  let e = exp(-abs(x));
  let sig = select(e, 1.0, x >= 0.0) / (1.0 + e);
  return x * sig;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (i >= params.n) { return; }
  out[params.out_offset + i] = silu(gate[params.gate_offset + i]) * up[params.up_offset + i];
}
