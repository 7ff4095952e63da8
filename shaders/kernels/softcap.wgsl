// Soft-capping in place: x[i] = cap · tanh(x[i] / cap) (Gemma 2's final logits).
//#include "grid.wgsl"
//#include "tanh.wgsl"

struct Params {
  n: u32,       // elements
  offset: u32,  // element offset of x[0]
  cap: f32,     // the cap (> 0)
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;  // (n) f32 at offset

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (i >= params.n) { return; }
  let j = params.offset + i;
  x[j] = params.cap * tanh_f32(x[j] / params.cap);
}
