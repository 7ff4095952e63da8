// Workgroup-wide f32 sum with few barriers. The including kernel declares `override WG_SIZE`
// (at most 4096) and takes an `inv: Invocation` entry-point argument (the builtins below).
// With SUBGROUPS (the kernel also writes `enable subgroups;` first): subgroupAdd, one barrier, then
// each subgroup sums the per-subgroup partials; no assumption about how subgroups map to lanes.
// Without: a fan-in-16 tree over two scratch arrays, one barrier per level (2 for WG_SIZE 256).
// Every invocation gets the total. Call it from uniform control flow; put a workgroupBarrier()
// between two calls (the scratch is reused).

//#ifdef SUBGROUPS
struct Invocation {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) lanes: u32,
}
//#else
struct Invocation {
  @builtin(local_invocation_index) lid: u32,
}
//#endif

const reduce_fan_in: u32 = 16u;
var<workgroup> reduce_sum_a: array<f32, WG_SIZE>;
var<workgroup> reduce_sum_b: array<f32, (WG_SIZE + 15u) / 16u>;

//#ifdef SUBGROUPS
fn workgroup_sum(v: f32, inv: Invocation) -> f32 {
  let s = subgroupAdd(v);
  reduce_sum_a[inv.lid] = select(0.0, s, inv.lane == 0u);
  workgroupBarrier();
  var t = 0.0;
  for (var j = inv.lane; j < WG_SIZE; j += inv.lanes) { t += reduce_sum_a[j]; }
  return subgroupAdd(t);
}
//#else
// Sums src[lid*16 .. lid*16+16) ∩ [0, n) of one scratch array.
fn reduce_sum_chunk_a(lid: u32, n: u32) -> f32 {
  var t = 0.0;
  for (var j = lid * reduce_fan_in; j < min(n, lid * reduce_fan_in + reduce_fan_in); j++) { t += reduce_sum_a[j]; }
  return t;
}

fn reduce_sum_chunk_b(lid: u32, n: u32) -> f32 {
  var t = 0.0;
  for (var j = lid * reduce_fan_in; j < min(n, lid * reduce_fan_in + reduce_fan_in); j++) { t += reduce_sum_b[j]; }
  return t;
}

fn workgroup_sum(v: f32, inv: Invocation) -> f32 {
  let lid = inv.lid;
  reduce_sum_a[lid] = v;
  workgroupBarrier();
  var n = WG_SIZE;      // live partials, in reduce_sum_a when in_a
  var in_a = true;
  loop {
    if (n <= reduce_fan_in) { break; }
    let m = (n + reduce_fan_in - 1u) / reduce_fan_in;
    if (in_a) {
      if (lid < m) { reduce_sum_b[lid] = reduce_sum_chunk_a(lid, n); }
    } else {
      if (lid < m) { reduce_sum_a[lid] = reduce_sum_chunk_b(lid, n); }
    }
    workgroupBarrier();
    n = m;
    in_a = !in_a;
  }
  if (in_a) { return reduce_sum_chunk_a(0u, n); }
  return reduce_sum_chunk_b(0u, n);
}
//#endif
