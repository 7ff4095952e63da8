// tanh in f32 from exp of a non-positive argument (no overflow), with a Taylor series near 0 where
// (1 − e) / (1 + e) would cancel: relative error ~1e-6 everywhere (WGSL's builtin tanh is only
// specified as sinh/cosh, which is loose for large |x|).
fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  var t: f32;
  if (a < 0.0625) {
    let a2 = a * a;
    t = a * (1.0 + a2 * (-0.33333334 + a2 * (0.13333334 + a2 * -0.053968254)));
  } else {
    let e = exp(-2.0 * a);
    t = (1.0 - e) / (1.0 + e);
  }
  return select(t, -t, x < 0.0);
}
