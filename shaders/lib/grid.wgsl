// Linear workgroup index for dispatches split over x and y (src/gpu/runner.ts gridFor).
fn linear_workgroup(wg: vec3<u32>, num_wg: vec3<u32>) -> u32 {
  return wg.x + wg.y * num_wg.x;
}
