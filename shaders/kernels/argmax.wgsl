// Greedy sampling: out[0] = index of the largest of x[x_offset .. x_offset + n), lowest index on
// ties. NaN entries are skipped (compared by bits, so fast-math cannot change it); if all n are NaN
// out[0] = 0xffffffff. -0 and +0 are equal; -inf is a value like any other.
// One workgroup: each invocation scans a strided slice, then a fan-in-16 tree (2 barriers at 256).

struct Params {
  n: u32,         // elements to scan
  x_offset: u32,  // element offset into x
}

override WG_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // (n) f32 at x_offset
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // (1) u32

const none_index: u32 = 0xffffffffu;
const fan_in: u32 = 16u;

var<workgroup> keys_a: array<u32, WG_SIZE>;
var<workgroup> idx_a: array<u32, WG_SIZE>;
var<workgroup> keys_b: array<u32, (WG_SIZE + 15u) / 16u>;
var<workgroup> idx_b: array<u32, (WG_SIZE + 15u) / 16u>;

// Monotone map f32 -> u32 (larger float, larger key); NaN -> 0, below every number's key.
fn order_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// (key, idx) of the better of two candidates: larger key, then lower index.
fn better(best: vec2<u32>, cand: vec2<u32>) -> vec2<u32> {
  if (cand.x > best.x || (cand.x == best.x && cand.y < best.y)) { return cand; }
  return best;
}

fn chunk_a(lid: u32, n: u32) -> vec2<u32> {
  var best = vec2<u32>(0u, none_index);
  for (var j = lid * fan_in; j < min(n, lid * fan_in + fan_in); j++) { best = better(best, vec2<u32>(keys_a[j], idx_a[j])); }
  return best;
}

fn chunk_b(lid: u32, n: u32) -> vec2<u32> {
  var best = vec2<u32>(0u, none_index);
  for (var j = lid * fan_in; j < min(n, lid * fan_in + fan_in); j++) { best = better(best, vec2<u32>(keys_b[j], idx_b[j])); }
  return best;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_index) lid: u32) {
  var best = vec2<u32>(0u, none_index);
  for (var i = lid; i < params.n; i += WG_SIZE) {
    let k = order_key(x[params.x_offset + i]);
    if (k > best.x) { best = vec2<u32>(k, i); }  // indices ascend: ties keep the first
  }
  keys_a[lid] = best.x;
  idx_a[lid] = best.y;
  workgroupBarrier();
  var n = WG_SIZE;
  var in_a = true;
  loop {
    if (n <= fan_in) { break; }
    let m = (n + fan_in - 1u) / fan_in;
    if (lid < m) {
      if (in_a) {
        let c = chunk_a(lid, n);
        keys_b[lid] = c.x; idx_b[lid] = c.y;
      } else {
        let c = chunk_b(lid, n);
        keys_a[lid] = c.x; idx_a[lid] = c.y;
      }
    }
    workgroupBarrier();
    n = m;
    in_a = !in_a;
  }
  if (lid == 0u) {
    out[0] = select(chunk_b(0u, n), chunk_a(0u, n), in_a).y;
  }
}
