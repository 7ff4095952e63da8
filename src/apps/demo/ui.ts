/** Small DOM helpers and the page's shared state (the loaded engine). */
import type { Memory3Engine } from '../../index';
import { describeError, isDeviceLost } from '../shared/messages';

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const app: {
  engine: Memory3Engine | null;
  /** Re-runs the last load (after a lost device). */
  reload: (() => Promise<void>) | null;
  listeners: Set<() => void>;
} = { engine: null, reload: null, listeners: new Set() };

/** Tells the panels that the engine changed (loaded, lost, disposed). */
export function engineChanged(): void {
  for (const f of app.listeners) f();
}

export function showError(err: unknown): void {
  $('error').hidden = false;
  $('error-text').textContent = describeError(err);
  $('reload-engine').hidden = !(isDeviceLost(err) && app.reload);
  console.error(err);
}

export function clearError(): void {
  $('error').hidden = true;
}

export function flag(name: string, value: string | number = 'true'): void {
  document.body.dataset[name] = String(value);
}

export function bump(name: string): void {
  flag(name, Number(document.body.dataset[name] ?? 0) + 1);
}
