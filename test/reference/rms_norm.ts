/** CPU reference for RMSNorm (Llama), float64: y = x / sqrt(mean(x²) + eps) * weight, per row. */
export function rmsNormRef(x: ArrayLike<number>, weight: ArrayLike<number>, rows: number, cols: number, eps: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[r * cols + c] ** 2;
    const scale = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * scale * weight[c];
  }
  return y;
}
