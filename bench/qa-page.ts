/**
 * The QA bench's page (bench/qa-page.html): exposes `window.memory3QaBench.run(options)` for
 * bench/qa-main.ts. Progress goes to the console with the `bench:` prefix and to the page.
 */
import { qaScenario, type QaPageOptions } from './scenarios/qa-page';

const log = (line: string) => {
  console.log(`bench: ${line}`);
  document.getElementById('log')?.append(`${line}\n`);
};

(window as unknown as { memory3QaBench: unknown }).memory3QaBench = {
  run: (options: QaPageOptions) => qaScenario(options, log),
};
