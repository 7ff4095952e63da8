// `npm run bench:qa [-- --quick] [-- --codecs f16,int8,int4,pq]`: runs bench/qa-main.ts through tsx (works on Node 20), like bench/run.mjs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'qa-main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
