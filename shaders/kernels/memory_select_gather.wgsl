// Gathers the selected tokens' keys (RoPE applied) and values of one layer from a KV cache into a
// memory record: out[mh, slot, d] = cache[row(pos), head_list[mh], d] with
// row(pos) = pos - pos_base + row_base, pos = positions[pos_offset + mh * k + slot].
// One thread per output element, no barriers.
//#include "grid.wgsl"

struct Params {
  mem_heads: u32,
  k: u32,           // slots per head
  head_dim: u32,
  kv_heads: u32,    // heads per cache row
  pos_offset: u32,  // element offset of this layer's (mem_heads, k) positions
  pos_base: u32,    // position of the first reference token
  row_base: u32,    // cache row of the first reference token
  out_offset: u32,  // element offset of this layer's (mem_heads, k, head_dim) block in keys/values
}

override WG_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> head_list: array<u32>;
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;   // (ctx, kv_heads, head_dim)
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;   // (ctx, kv_heads, head_dim)
@group(0) @binding(5) var<storage, read_write> keys: array<f32>;
@group(0) @binding(6) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) num_wg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup(wg, num_wg) * WG_SIZE + lid;
  let hd = params.head_dim;
  if (t >= params.mem_heads * params.k * hd) { return; }
  let d = t % hd;
  let slot = t / hd;              // mh * k + s
  let mh = slot / params.k;
  let pos = positions[params.pos_offset + slot];
  let row = pos - params.pos_base + params.row_base;
  let src = (row * params.kv_heads + head_list[mh]) * hd + d;
  keys[params.out_offset + t] = k_cache[src];
  values[params.out_offset + t] = v_cache[src];
}
