// The gated MLP's activations (silu_mul and the GEMV's GLU epilogue): silu, or with GELU gelu's tanh
// approximation. The including file includes tanh.wgsl when it defines GELU.
//   silu(x) = x * sigmoid(x), sigmoid from e = exp(-|x|) ∈ (0, 1], so nothing overflows:
//   silu(±100) = 100 / ~0, never inf/NaN.
//   gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))).

fn silu(x: f32) -> f32 {
  let e = exp(-abs(x));
  let sig = select(e, 1.0, x >= 0.0) / (1.0 + e);
  return x * sig;
}

//#ifdef GELU
fn gelu_tanh(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_f32(0.7978845608 * x * (1.0 + 0.044715 * x * x)));
}
//#endif
