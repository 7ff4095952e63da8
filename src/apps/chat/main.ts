/**
 * The offline chat: conversations in IndexedDB, streaming replies, knowledge banks per conversation
 * (explicit memory), a service worker for offline use. Later turns extend the earlier prompt, so the
 * engine reuses the KV cache and prefills only the new message.
 */
import { Workbox } from 'workbox-window';
import type { GenerationResult } from '../../index';
import { describeStorage, requestPersistence, storageReport } from '../shared/storage';
import { el, hideAlert, host, showAlert, startEngine } from './engine-host';
import {
  deleteConversation,
  getConversation,
  listConversations,
  newConversation,
  saveConversation,
  type Conversation,
  type StoredMessage,
} from './store';

let current: Conversation = newConversation();

/** A new conversation, reading the default model's knowledge bank when it is installed. */
function freshConversation(): Conversation {
  return { ...newConversation(), bank: host.defaultBank };
}
let aborter: AbortController | null = null;

function bubble(m: StoredMessage): HTMLLIElement {
  const li = document.createElement('li');
  li.className = m.role;
  li.textContent = m.content;
  if (m.note) li.append(Object.assign(document.createElement('small'), { className: 'note', textContent: m.note }));
  return li;
}

function renderMessages(): void {
  const list = el('messages');
  list.replaceChildren(...current.messages.map(bubble));
  if (!current.messages.length) {
    const empty = Object.assign(document.createElement('li'), {
      className: 'empty',
      textContent: 'Say something. Everything stays on this device.',
    });
    // Questions the default knowledge bank answers, while this conversation reads it.
    if (current.bank && current.bank === host.defaultBank && host.examples.length) {
      const tries = Object.assign(document.createElement('div'), { className: 'examples' });
      tries.append(Object.assign(document.createElement('span'), { textContent: 'Ask the knowledge bank: ' }));
      for (const e of host.examples) {
        const b = Object.assign(document.createElement('button'), {
          type: 'button',
          className: 'secondary example',
          textContent: e.question,
          title: `From the default knowledge bank; the model answered "${e.answer}" when the bank was built`,
        });
        b.addEventListener('click', () => void send(e.question, { greedy: true }));
        tries.append(b);
      }
      empty.append(tries);
    }
    list.append(empty);
  }
  list.scrollTop = list.scrollHeight;
  el<HTMLSelectElement>('bank').value = current.bank ?? '';
}

async function renderList(): Promise<void> {
  const items = (await listConversations()).map((c) => {
    const li = document.createElement('li');
    li.dataset.id = c.id;
    li.classList.toggle('active', c.id === current.id);
    const title = Object.assign(document.createElement('span'), { className: 'title', textContent: c.title });
    const del = Object.assign(document.createElement('button'), { textContent: '×', title: 'Delete conversation' });
    del.addEventListener('click', (e) => {
      e.stopPropagation();
      void removeConversation(c.id);
    });
    li.append(title, del);
    li.addEventListener('click', () => void openConversation(c.id));
    return li;
  });
  el('conversations').replaceChildren(...items);
}

async function openConversation(id: string): Promise<void> {
  const c = await getConversation(id);
  if (!c) return;
  current = c;
  localStorage.setItem('memory3-chat-current', id);
  renderMessages();
  await renderList();
}

async function removeConversation(id: string): Promise<void> {
  await deleteConversation(id);
  if (id === current.id) current = freshConversation();
  renderMessages();
  await renderList();
}

function replyNote(r: GenerationResult): string {
  const u = r.usage,
    refs = new Set((r.retrievals ?? []).flatMap((e) => e.references.map((x) => x.source)));
  return (
    `${u.completionTokens} tokens · ${u.cachedPromptTokens}/${u.promptTokens} prompt tokens reused from the KV cache · ` +
    `first token ${u.timeToFirstTokenMs.toFixed(0)} ms · ${u.decodeTokensPerSecond.toFixed(1)} tok/s` +
    (refs.size ? ` · memory read from ${[...refs].join(', ')}` : '')
  );
}

/** Sends a user message; `greedy` (the example questions) decodes without sampling. */
async function send(text: string, opts: { greedy?: boolean } = {}): Promise<void> {
  const engine = host.engine;
  if (!engine || !text.trim()) return;
  hideAlert();
  if (!current.messages.length) current.title = text.trim().slice(0, 40);
  localStorage.setItem('memory3-chat-current', current.id);
  current.messages.push({ role: 'user', content: text });
  await saveConversation(current);
  await renderList();
  renderMessages();
  const li = bubble({ role: 'assistant', content: '' });
  el('messages').append(li);
  aborter = new AbortController();
  setBusy(true);
  try {
    const history = current.messages.map(({ role, content }) => ({ role, content }));
    const stream = engine.generate({
      ...(engine.info.hasChatTemplate ? { messages: history } : { prompt: history.map((m) => m.content).join('\n') }),
      maxTokens: 96,
      temperature: opts.greedy ? 0 : 0.7,
      topP: 0.95,
      seed: current.messages.length,
      signal: aborter.signal,
      ...(current.bank ? { memory: { bank: current.bank } } : {}),
    });
    for await (const d of stream) {
      li.textContent += d.text;
      el('messages').scrollTop = el('messages').scrollHeight;
    }
    const r = await stream.result;
    current.messages.push({ role: 'assistant', content: r.text, note: replyNote(r) });
    document.body.dataset.replies = String(Number(document.body.dataset.replies ?? 0) + 1);
  } catch (err) {
    const stopped = (err as Error).name === 'GenerationAbortedError';
    if (stopped && li.textContent) current.messages.push({ role: 'assistant', content: li.textContent, note: 'stopped' });
    if (!stopped) showAlert(err, (err as Error).name === 'DeviceLostError');
  } finally {
    aborter = null;
    await saveConversation(current);
    renderMessages();
    setBusy(false);
  }
}

function setBusy(busy: boolean): void {
  const usable = !!host.engine && host.engine.state !== 'lost';
  el<HTMLButtonElement>('send').disabled = busy || !usable;
  el<HTMLButtonElement>('stop').disabled = !busy;
}

async function refreshBanks(): Promise<void> {
  const banks = host.engine ? await host.engine.memory.list() : [];
  el('bank').replaceChildren(new Option('none', ''), ...banks.filter((b) => b.state === 'ready').map((b) => new Option(b.name, b.name)));
  el<HTMLSelectElement>('bank').value = banks.some((b) => b.name === current.bank) ? current.bank! : '';
}

/** Picked .txt/.md files become a bank named after the first file, attached to this conversation. */
async function addKnowledge(files: File[]): Promise<void> {
  const engine = host.engine;
  if (!engine || !files.length) return;
  const name = files[0].name.replace(/\.(txt|md)$/i, '');
  const status = el('model-status');
  if (!(await engine.memory.list()).some((b) => b.name === name)) await engine.memory.createBank(name);
  const docs = await Promise.all(files.map(async (f) => ({ source: f.name, text: await f.text() })));
  await engine.memory.addDocuments(name, docs, {
    onProgress: (p) => {
      status.textContent = `Encoding knowledge: ${p.referencesDone}/${p.references}`;
    },
  });
  status.textContent = `Knowledge bank "${name}" ready and attached to this conversation.`;
  current.bank = name;
  await saveConversation(current);
  await refreshBanks();
  document.body.dataset.banks = String(Number(document.body.dataset.banks ?? 0) + 1);
}

async function refreshStorageLine(): Promise<void> {
  el('storage').textContent = describeStorage(await storageReport());
}

function registerServiceWorker(): void {
  const offline = el('offline-status');
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) {
    offline.textContent = 'Offline mode needs the built app (service worker).';
    return;
  }
  const wb = new Workbox('/sw.js');
  wb.addEventListener('activated', () => {
    offline.textContent = 'Ready to work offline.';
  });
  void wb
    .register()
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      offline.textContent = 'Ready to work offline.';
      document.body.dataset.offlineReady = 'true';
    })
    .catch((err) => {
      offline.textContent = `Offline mode unavailable: ${(err as Error).message}`;
    });
}

function wire(): void {
  el('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = el<HTMLTextAreaElement>('input'),
      text = input.value;
    input.value = '';
    void send(text);
  });
  el('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      el<HTMLFormElement>('composer').requestSubmit();
    }
  });
  el('stop').addEventListener('click', () => aborter?.abort());
  el('new-chat').addEventListener('click', () => {
    current = freshConversation();
    renderMessages();
    void renderList();
  });
  el('bank').addEventListener('change', () => {
    current.bank = el<HTMLSelectElement>('bank').value || null;
    void saveConversation(current).then(renderList);
  });
  el('knowledge-files').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    void addKnowledge([...(input.files ?? [])]).catch((err) => showAlert(err));
    input.value = '';
  });
  el('reload-engine').addEventListener('click', () => void startEngine());
  let deferred: (Event & { prompt(): Promise<void> }) | null = null;
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault();
    deferred = e as never;
    el('install').hidden = false;
  });
  el('install').addEventListener('click', () => void deferred?.prompt());
  host.onChange = () => {
    setBusy(false);
    void refreshBanks().catch(() => {});
  };
}

async function main(): Promise<void> {
  wire();
  registerServiceWorker();
  const last = localStorage.getItem('memory3-chat-current');
  if (last && (await getConversation(last))) await openConversation(last);
  else {
    renderMessages();
    await renderList();
  }
  void requestPersistence().finally(refreshStorageLine);
  await startEngine();
  // The bank installs with the engine: a conversation not started yet reads it from the first message.
  if (host.defaultBank && !current.messages.length && current.bank === null) {
    current.bank = host.defaultBank;
    renderMessages();
  }
}

void main();
