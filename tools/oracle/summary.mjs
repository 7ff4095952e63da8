// Prints the oracle's one-line summary from the results the oracle test wrote.
import { readFileSync } from 'node:fs';

const path = new URL('../../test/fixtures/models/oracle-results.json', import.meta.url);
const r = JSON.parse(readFileSync(path, 'utf8'));
const agreeing = r.results.filter((x) => x.agree).length;
const maxDp = Math.max(0, ...r.results.map((x) => x.maxDeltaP));
const e = (v) => v.toExponential(2);
for (const x of r.results) {
  let line = `  ${x.model}: ${x.agree ? 'agrees' : 'DISAGREES'}, max |Δp| ${e(x.maxDeltaP)}`;
  if (x.exactSteps !== undefined) {
    line +=
      ` (${x.prompts}×${x.tokens} tokens, llama.cpp's activation rounding: ${x.exactSteps}/${x.prompts * x.tokens} steps within ${x.tolerance} ` +
      `before a rounding flip, ${x.nearTies.length} near-tie swaps; f32 activations ${e(x.maxDeltaPF32)})`;
  }
  console.log(line);
}
console.log(`oracle: ${agreeing}/${r.results.length} models, ${r.steps} tokens each, max |Δp| ${e(maxDp)}`);
process.exit(agreeing === r.results.length && r.results.length > 0 ? 0 : 1);
