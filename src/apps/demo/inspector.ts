/**
 * The memory inspector: one entry per retrieval (RetrievalEvent: phase, chunk, token span,
 * references with score, source and text). Selecting a decode chunk highlights its tokens in the
 * output; the output's token spans carry data-t0/data-t1 (generated-token indices).
 */
import type { RetrievalEvent } from '../../index';
import { $, bump } from './ui';

function refItem(r: RetrievalEvent['references'][number]): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'ref';
  const head = document.createElement('div');
  head.innerHTML = '<b class="src"></b> <span class="score"></span>';
  head.querySelector('.src')!.textContent = r.source;
  head.querySelector('.score')!.textContent = `score ${r.score.toFixed(3)} · chars ${r.start}–${r.end}`;
  const text = document.createElement('q');
  text.textContent = r.text;
  li.append(head, text);
  return li;
}

export function clearInspector(): void {
  $('inspector').replaceChildren();
}

/** Highlights generated tokens [t0, t1) in the output; clears with t0 = t1. */
export function highlightOutput(t0: number, t1: number): void {
  for (const span of $('output').querySelectorAll<HTMLElement>('span[data-t0]')) {
    const a = Number(span.dataset.t0),
      b = Number(span.dataset.t1);
    span.classList.toggle('hl', a < t1 && b > t0);
  }
}

export function addRetrieval(e: RetrievalEvent): void {
  const li = document.createElement('li');
  li.className = `chunk ${e.phase}`;
  li.tabIndex = 0;
  const title = document.createElement('div');
  title.className = 'chunk-title';
  const what = e.phase === 'prompt' ? `prompt tokens ${e.span[0]}–${e.span[1]}` : `output tokens ${e.span[0]}–${e.span[1]}`;
  title.textContent =
    `${e.phase} chunk ${e.chunk} · ${what} · ${e.references.length} reference${e.references.length === 1 ? '' : 's'}` +
    `${e.reused ? " (reused from the prompt's last chunk)" : ''} · ${e.ms.toFixed(1)} ms${e.corrupt.length ? ` · ${e.corrupt.length} corrupt record(s) skipped` : ''}`;
  const query = document.createElement('div');
  query.className = 'query';
  query.textContent = `query: “${e.query.length > 160 ? `${e.query.slice(0, 160)}…` : e.query}”`;
  const refs = document.createElement('ul');
  refs.append(...e.references.map(refItem));
  li.append(title, query, refs);
  const select = () => {
    for (const other of $('inspector').children) other.classList.toggle('selected', other === li);
    if (e.phase === 'decode') highlightOutput(e.span[0], e.span[1]);
    else highlightOutput(0, 0);
  };
  li.addEventListener('click', select);
  li.addEventListener('focus', select);
  $('inspector').append(li);
  bump('retrievals');
}
