/** The test command's own setup (tools/test/preflight.mjs): installs Chromium when it can, else one sentence. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plan, type PreflightFacts } from '../../tools/test/preflight.mjs';

const script = resolve(__dirname, '../../tools/test/preflight.mjs');
const fresh: PreflightFacts = {
  node: 'v20.20.2',
  hasModules: true,
  chromium: '/usr/bin/chromium',
  chromiumFromEnv: false,
  chromiumOk: false,
  isRoot: true,
  canSudo: false,
  hasApt: true,
};
const oneSentence = (m: string) => expect(m).toMatch(/^[^\n]+[.]$/);

describe('preflight plan', () => {
  it("installs Debian's chromium on a fresh Debian machine as root, through sudo only when allowed", () => {
    expect(plan(fresh)).toEqual({ action: 'install', sudo: false });
    expect(plan({ ...fresh, isRoot: false, canSudo: true })).toEqual({ action: 'install', sudo: true });
    expect(plan({ ...fresh, chromiumOk: true })).toEqual({ action: 'ok' });
  });

  it('stops with one sentence naming the command otherwise', () => {
    const cases: [Partial<PreflightFacts>, RegExp][] = [
      [{ isRoot: false }, /run `sudo apt-get update && apt-get install -y chromium`/],
      [{ installFailed: 100 }, /failed \(exit status 100\): run `apt-get update && apt-get install -y chromium`/],
      [{ hasApt: false }, /CHROMIUM_PATH=\/path\/to\/chromium npm test/],
      [{ chromiumFromEnv: true, chromium: '/opt/none' }, /CHROMIUM_PATH is \/opt\/none/],
      [{ hasModules: false }, /run `npm install`/],
      [{ node: 'v20.11.0' }, /Node 20.19 or newer \(this is v20.11.0\)/],
    ];
    for (const [f, want] of cases) {
      const step = plan({ ...fresh, ...f });
      expect(step.action, JSON.stringify(f)).toBe('stop');
      const message = (step as { message: string }).message;
      expect(message).toMatch(want);
      oneSentence(message);
    }
  });

  it('runs as a script: exit 0 when set up, one line and exit 1 (no stack trace) when not', () => {
    const ok = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const bad = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^preflight: CHROMIUM_PATH is \/nonexistent\/chromium, which is not an executable file/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
