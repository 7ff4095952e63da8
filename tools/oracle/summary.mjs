// Prints the oracle's one-line summary from the results the oracle test wrote.
import { readFileSync } from 'node:fs';

const path = new URL('../../test/fixtures/models/oracle-results.json', import.meta.url);
const r = JSON.parse(readFileSync(path, 'utf8'));
const agreeing = r.results.filter((x) => x.agree).length;
const maxDp = Math.max(0, ...r.results.map((x) => x.maxDeltaP));
for (const x of r.results) console.log(`  ${x.model}: ${x.agree ? 'agrees' : 'DISAGREES'}, max |Δp| ${x.maxDeltaP.toExponential(2)}`);
console.log(`oracle: ${agreeing}/${r.results.length} models, ${r.steps} tokens each, max |Δp| ${maxDp.toExponential(2)}`);
process.exit(agreeing === r.results.length && r.results.length > 0 ? 0 : 1);
