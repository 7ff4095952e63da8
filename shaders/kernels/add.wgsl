// Residual add, in place: a[offset_a + i] += b[offset_b + i] for i < n.
//#include "grid.wgsl"

struct Params {
  n: u32,         // elements to add
  offset_a: u32,  // element offset into a
  offset_b: u32,  // element offset into b
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  if (i >= params.n) { return; }
  a[params.offset_a + i] += b[params.offset_b + i];
}
