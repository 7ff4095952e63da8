/** CPU reference for the gated activations, float64: SwiGLU silu(gate) * up, silu(x) = x / (1 + exp(-x)); GeGLU below. */
export function siluRef(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function siluMulRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = siluRef(gate[i]) * up[i];
  return out;
}

/** gelu's tanh approximation (transformers' gelu_pytorch_tanh), float64. */
export function geluTanhRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * x * (1 + 0.044715 * x * x)));
}

/** f32 → nearest-even f16 → number (finite inputs; |x| >= 65520 → ±inf). */
export function roundF16(x: number): number {
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Number.POSITIVE_INFINITY;
  const e = Math.max(-14, Math.floor(Math.log2(a || 2 ** -24)));
  const ulp = 2 ** (e - 10);
  const q = a / ulp,
    f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * r * ulp;
}

/**
 * The gated activation: act(gate) · up with act silu or gelu_tanh; `f16Table`: llama.cpp's CPU gelu
 * (x rounded to f16, gelu of it in f32 rounded to f16; x <= -10 → 0, x >= 10 → x).
 */
export function gluRef(gate: ArrayLike<number>, up: ArrayLike<number>, act: 'silu' | 'gelu_tanh', f16Table = false): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const x = gate[i];
    let a: number;
    if (act === 'silu') a = siluRef(x);
    else if (!f16Table) a = geluTanhRef(x);
    else a = x <= -10 ? 0 : x >= 10 ? x : roundF16(Math.fround(geluTanhRef(roundF16(x))));
    out[i] = a * up[i];
  }
  return out;
}
