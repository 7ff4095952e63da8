/** CPU reference for the SwiGLU activation, float64: silu(gate) * up, silu(x) = x / (1 + exp(-x)). */
export function siluRef(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function siluMulRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = siluRef(gate[i]) * up[i];
  return out;
}
