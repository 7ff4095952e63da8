/**
 * Example questions the default knowledge bank answers (its manifest's `examples`: held-out questions
 * the engine answered right from that bank when it was built). A click asks one with the bank
 * selected, greedily (the temperature field is set to 0, visibly), in the current conversation.
 */
import { $ } from './ui';

export interface ExampleQuestion {
  question: string;
  answer: string;
  source: string;
}

export function showExamples(examples: readonly ExampleQuestion[], bank: string): void {
  const box = $('examples'),
    list = $('example-list');
  list.replaceChildren(
    ...examples.map((e) => {
      const b = document.createElement('button');
      b.className = 'secondary example';
      b.textContent = e.question;
      b.title = `From the bank "${bank}" (${e.source}); the model answered "${e.answer}" when the bank was built`;
      b.addEventListener('click', () => {
        $<HTMLTextAreaElement>('prompt').value = e.question;
        const use = $<HTMLSelectElement>('use-bank');
        if ([...use.options].some((o) => o.value === bank)) use.value = bank;
        $<HTMLInputElement>('temperature').value = '0';
        $<HTMLButtonElement>('generate').click();
      });
      return b;
    }),
  );
  box.hidden = examples.length === 0;
}

export function hideExamples(): void {
  $('examples').hidden = true;
}
