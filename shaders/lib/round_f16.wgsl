// Halves rounded with integer ops, not pack2x16float, whose rounding WGSL leaves open.
// f32 → f16 → f32, round to nearest even (finite inputs; overflow saturates to ±65504's successor: inf).
fn round_f16(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let sign = b & 0x80000000u;
  let a = bitcast<f32>(b & 0x7fffffffu);
  if (a >= 65520.0) { return bitcast<f32>(sign | 0x7f800000u); }
  if (a < 6.103515625e-05) {  // f16 subnormals: multiples of 2^-24
    let q = round(a * 16777216.0);
    return bitcast<f32>(sign | bitcast<u32>(q / 16777216.0));
  }
  let m = b & 0x7fffffffu;
  let r = (m + 0xfffu + ((m >> 13u) & 1u)) & 0xffffe000u;
  return bitcast<f32>(sign | r);
}
