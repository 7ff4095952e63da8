// Accurate f32 cos and sin of one angle, independent of the GPU's builtins (WGSL only promises
// 2^-11 absolute error for sin/cos on [-π, π] and nothing outside; SwiftShader is ~2e-4 off).
// Cody–Waite reduction by π/2 = c1 + c2 + c3 + c4 (7-bit c1..c3: k*ci exact for |k| < 2^17, so
// exact reduction for |a| < 2e5, i.e. positions < 2^17 at inv_freq 1), then Cephes sinf/cosf minimax polynomials on [-π/4, π/4].
// Returns vec2(cos(a), sin(a)); error ~1e-7 absolute.
fn sincos_f32(a: f32) -> vec2<f32> {
  let k = round(a * 0.6366197466850281);
  let r = (((a - k * 1.5625) - k * 0.0081787109375) - k * 0.00011730194091796875) - k * 3.1391647326017846e-7;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (i32(k) & 3) {
    case 0: { return vec2<f32>(c, s); }
    case 1: { return vec2<f32>(-s, c); }
    case 2: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}
