/** Types of preflight.mjs (plain JS so it runs before `npm install` has put tsx in place). */
export const debianChromium: string;
export interface PreflightFacts {
  node: string;
  hasModules: boolean;
  chromium: string;
  chromiumFromEnv: boolean;
  chromiumOk: boolean;
  isRoot: boolean;
  canSudo: boolean;
  hasApt: boolean;
  installFailed?: number | null;
}
export type PreflightStep = { action: 'ok' } | { action: 'install'; sudo: boolean } | { action: 'stop'; message: string };
export function plan(f: PreflightFacts): PreflightStep;
