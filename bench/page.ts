/**
 * The bench page: exposes `window.memory3Bench.run(scenario, options)` for the playwright driver
 * (bench/lib/browser.ts). Scenarios import the library only through src/index.ts. Progress goes to
 * the console with the `bench:` prefix (forwarded to the terminal) and to the page.
 */
import type { BenchLog } from './lib/log';
import { runOrtSpeed } from './peers/ort';
import { runWllamaSpeed } from './peers/wllama';
import { speedScenario } from './scenarios/speed-page';

type Scenario = (options: never, log: BenchLog) => Promise<unknown>;

const scenarios: Record<string, Scenario> = {
  speed: speedScenario,
  'ort-speed': runOrtSpeed,
  'wllama-speed': runWllamaSpeed,
};

const log: BenchLog = (line) => {
  console.log(`bench: ${line}`);
  document.getElementById('log')?.append(`${line}\n`);
};

async function run(name: string, options: unknown): Promise<unknown> {
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`bench page: no scenario "${name}" (has: ${Object.keys(scenarios).join(', ')})`);
  return scenario(options as never, log);
}

(window as unknown as { memory3Bench: unknown }).memory3Bench = { run };
