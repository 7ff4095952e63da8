// `npm run test:reliability`: the fuzz projects (tallies in test/fuzz/.results/), then the fault
// run (run.ts through tsx, which works on Node 20) and its summary line.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
rmSync(join(root, 'test/fuzz/.results'), { recursive: true, force: true });
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const fuzz = spawnSync(process.execPath, [vitest, 'run', '--project', 'fuzz', '--project', 'fuzz-browser'], {
  stdio: 'inherit',
  cwd: root,
});
if (fuzz.status !== 0) {
  console.log('reliability: the fuzz projects failed (see above)');
  process.exit(fuzz.status ?? 1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'run.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
