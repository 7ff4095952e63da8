/** CPU reference for the embedding gather. */

/** out[t, c] = table[tokens[t], c]; table (rows, cols) row-major. Returns (tokens.length, cols). */
export function embeddingRef(table: ArrayLike<number>, cols: number, tokens: ArrayLike<number>): Float64Array {
  const out = new Float64Array(tokens.length * cols);
  for (let t = 0; t < tokens.length; t++) {
    for (let c = 0; c < cols; c++) out[t * cols + c] = table[tokens[t] * cols + c];
  }
  return out;
}
