// @ts-check
/**
 * `node tools/test/preflight.mjs [--sudo]`: what the tests need before they start, set up or named.
 * Runs first in `npm test` (and the other browser test commands). On a fresh Debian machine it
 * installs Debian's Chromium when it is missing and we are root (with --sudo, as CI runs it, also
 * through sudo); otherwise it stops with one sentence naming the command to run. Never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const debianChromium = '/usr/bin/chromium';
const installCommand = 'apt-get update && apt-get install -y chromium';

/**
 * What to do, from the facts found (pure, so a test can walk every case).
 * @param {{ node: string, hasModules: boolean, chromium: string, chromiumFromEnv: boolean, chromiumOk: boolean,
 *   isRoot: boolean, canSudo: boolean, hasApt: boolean, installFailed?: number | null }} f
 * @returns {{ action: 'ok' } | { action: 'install', sudo: boolean } | { action: 'stop', message: string }}
 */
export function plan(f) {
  const [major, minor] = f.node.replace(/^v/, '').split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    return {
      action: 'stop',
      message: `the tests need Node 20.19 or newer (this is ${f.node}): install a newer Node (https://nodejs.org) and run npm install && npm test again.`,
    };
  }
  if (!f.hasModules)
    return { action: 'stop', message: "the tests need the project's dependencies: run `npm install`, then `npm test` again." };
  if (f.chromiumOk) return { action: 'ok' };
  if (f.chromiumFromEnv) {
    return {
      action: 'stop',
      message: `CHROMIUM_PATH is ${f.chromium}, which is not an executable file: point it at a Chromium binary, or unset it to use Debian's ${debianChromium}.`,
    };
  }
  if (!f.hasApt) {
    return {
      action: 'stop',
      message: `the browser tests need Chromium at ${debianChromium}: install Chromium and run \`CHROMIUM_PATH=/path/to/chromium npm test\`.`,
    };
  }
  if (f.installFailed !== undefined && f.installFailed !== null) {
    return {
      action: 'stop',
      message: `installing Debian's Chromium failed (exit status ${f.installFailed}): run \`${f.isRoot ? '' : 'sudo '}${installCommand}\` yourself, then \`npm test\` again.`,
    };
  }
  if (f.isRoot || f.canSudo) return { action: 'install', sudo: !f.isRoot };
  return { action: 'stop', message: `the browser tests need Debian's Chromium: run \`sudo ${installCommand}\`, then \`npm test\` again.` };
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function facts(sudo) {
  const fromEnv = !!process.env.CHROMIUM_PATH;
  const chromium = process.env.CHROMIUM_PATH || debianChromium;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return {
    node: process.version,
    hasModules: existsSync(join(repoRoot, 'node_modules/vitest/package.json')),
    chromium,
    chromiumFromEnv: fromEnv,
    chromiumOk: isExecutable(chromium),
    isRoot,
    canSudo: sudo && !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0,
    hasApt: isExecutable('/usr/bin/apt-get'),
  };
}

function install(useSudo) {
  console.log("preflight: installing Debian's chromium (the browser tests run WebGPU in it, via SwiftShader)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    const r = useSudo
      ? spawnSync('sudo', ['-n', '-E', ...args], { stdio: ['ignore', 'ignore', 'inherit'], env })
      : spawnSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env });
    return r.status ?? 1;
  };
  const update = run(['apt-get', 'update', '-qq']);
  return update !== 0 ? update : run(['apt-get', 'install', '-y', '-qq', 'chromium']);
}

function main() {
  const sudo = process.argv.includes('--sudo');
  let f = facts(sudo);
  let step = plan(f);
  if (step.action === 'install') {
    const status = install(step.sudo);
    f = facts(sudo);
    step = plan({ ...f, installFailed: f.chromiumOk ? null : status || 1 });
  }
  if (step.action === 'stop') {
    console.error(`preflight: ${step.message}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let code = 1;
  try {
    code = main();
  } catch (err) {
    console.error(
      `preflight: could not check the test setup (${err?.message ?? err}); run \`npm install\` and \`sudo ${installCommand}\`, then \`npm test\` again.`,
    );
  }
  process.exit(code);
}
