/** CPU reference for soft-capping, float64: cap · tanh(x / cap) (Gemma 2's logits and attention scores). */
export function softcapRef(x: ArrayLike<number>, cap: number): Float64Array {
  return Float64Array.from(x, (v) => cap * Math.tanh(v / cap));
}
