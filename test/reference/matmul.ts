/** CPU references for matmul and weight rounding, accumulating in float64. */
import { f16ToF32Array, f32ToF16Array } from '../../src/util/f16';

/** y[i, j] = Σ_k x[i, k]·w[j, k] + bias[j]; x (m, k), w (n, k), bias (n), all row-major. Returns (m, n). */
export function matmulRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = bias ? bias[j] : 0;
      for (let c = 0; c < k; c++) sum += x[i * k + c] * w[j * k + c];
      y[i * n + j] = sum;
    }
  }
  return y;
}

/**
 * The bytes a weight loader would write for `values` in `dtype` (f16: round to nearest even), and
 * the values those bytes hold (what the GPU multiplies by).
 */
export function weightBytes(values: Float32Array, dtype: 'f32' | 'f16'): { bytes: Uint8Array<ArrayBuffer>; stored: Float32Array } {
  if (dtype === 'f32') return { bytes: new Uint8Array(values.slice().buffer as ArrayBuffer), stored: values };
  const bits = f32ToF16Array(values);
  return { bytes: new Uint8Array(bits.buffer as ArrayBuffer), stored: f16ToF32Array(bits) };
}
