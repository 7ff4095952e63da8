/** Knowledge banks: create, add text or .txt/.md files (progress, cancel), list, import/export, delete. */
import type { BankSummary, MemoryDocument } from '../../index';
import { downloadBank } from '../shared/banks';
import { ensureBundledBank } from '../shared/bundled-bank';
import { hideExamples, showExamples } from './examples';
import { mib } from '../shared/storage';
import { refreshStorage } from './storage-status';
import { $, app, bump, clearError, showError } from './ui';

let encoding: AbortController | null = null;

function selectedBank(): string {
  return $<HTMLInputElement>('bank-name').value.trim();
}

function bankRow(b: BankSummary): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.bank = b.name;
  const cells = [b.name, String(b.counts.references), mib(b.bytes), b.state];
  for (const c of cells) tr.insertCell().textContent = c;
  const actions = tr.insertCell();
  const button = (label: string, run: () => Promise<unknown>, disabled = false) => {
    const el = Object.assign(document.createElement('button'), { textContent: label, className: 'secondary small', disabled });
    el.addEventListener('click', () => void run().catch(showError));
    actions.append(el);
  };
  button('Use', async () => {
    $<HTMLInputElement>('bank-name').value = b.name;
    $<HTMLSelectElement>('use-bank').value = b.name;
  });
  button('Export', async () => {
    await downloadBank(app.engine!, b.name);
    bump('exported');
  });
  button('Delete', async () => {
    if (!confirm(`Delete the bank "${b.name}" (${b.counts.references} references, ${mib(b.bytes)})? This cannot be undone.`)) return;
    await app.engine!.memory.delete(b.name);
    // A deleted default bank stays deleted: the next load of the default model offers it instead.
    if (b.name === installable?.bank) {
      localStorage.setItem(declinedKey, b.name);
      hideExamples();
    }
    await refreshBanks();
  });
  return tr;
}

export async function refreshBanks(): Promise<void> {
  const engine = app.engine;
  const banks = engine ? await engine.memory.list() : [];
  const empty = document.createElement('tr');
  empty.insertCell().textContent = engine ? 'No banks yet: name one above and add text.' : 'Load a model to see its banks.';
  (empty.cells[0] as HTMLTableCellElement).colSpan = 5;
  $('banks')
    .querySelector('tbody')!
    .replaceChildren(...(banks.length ? banks.map(bankRow) : [empty]));
  const use = $<HTMLSelectElement>('use-bank'),
    keep = use.value;
  use.replaceChildren(new Option('none', ''), ...banks.filter((b) => b.state === 'ready').map((b) => new Option(b.name, b.name)));
  use.value = banks.some((b) => b.name === keep) ? keep : '';
  void refreshStorage();
}

async function ensureBank(name: string): Promise<void> {
  const banks = await app.engine!.memory.list();
  if (!banks.some((b) => b.name === name)) await app.engine!.memory.createBank(name);
}

async function addDocuments(docs: MemoryDocument[]): Promise<void> {
  const engine = app.engine,
    name = selectedBank();
  if (!engine || !name || !docs.length) return;
  clearError();
  encoding = new AbortController();
  setEncoding(true);
  const bar = $<HTMLProgressElement>('encode-progress'),
    status = $('encode-status');
  try {
    await ensureBank(name);
    const r = await engine.memory.addDocuments(name, docs, {
      signal: encoding.signal,
      onProgress: (p) => {
        bar.max = Math.max(1, p.references);
        bar.value = p.referencesDone;
        status.textContent =
          `${p.phase}: ${p.referencesDone}/${p.references} references of ${p.documents} document(s)` +
          `${p.referencesResumed ? `, ${p.referencesResumed} resumed` : ''}`;
      },
    });
    status.textContent =
      `Added ${r.references} reference${r.references === 1 ? '' : 's'} from ${r.documents} document${r.documents === 1 ? '' : 's'} in ${(r.ms / 1000).toFixed(1)} s ` +
      `(${r.referencesPerSecond.toFixed(1)} references/s${r.resumed ? `, ${r.resumed} already stored` : ''}).`;
    $<HTMLSelectElement>('use-bank').value = name;
    bump('encoded');
  } catch (err) {
    if ((err as Error).name === 'EncodingAbortedError' || (err as Error).name === 'GenerationAbortedError')
      status.textContent = 'Cancelled: encoded references are kept; adding the same text again resumes.';
    else showError(err);
  } finally {
    encoding = null;
    setEncoding(false);
    await refreshBanks().catch(showError);
    if ($<HTMLSelectElement>('use-bank').querySelector(`option[value="${CSS.escape(name)}"]`))
      $<HTMLSelectElement>('use-bank').value = name;
  }
}

function setEncoding(busy: boolean): void {
  const ready = !!app.engine && app.engine.state !== 'lost';
  $<HTMLButtonElement>('add-doc').disabled = busy || !ready;
  $<HTMLButtonElement>('create-bank').disabled = busy || !ready;
  $<HTMLButtonElement>('cancel-encode').disabled = !busy;
  $('encode-progress').hidden = !busy;
}

async function importBank(file: File): Promise<void> {
  const name = file.name.replace(/\.m3bank$/i, '');
  const exists = (await app.engine!.memory.list()).some((b) => b.name === name);
  const overwrite = exists && confirm(`Replace the existing bank "${name}"?`);
  if (exists && !overwrite) return;
  await app.engine!.memory.import(file, { name, overwrite });
  $('encode-status').textContent = `Imported bank "${name}".`;
  bump('imported');
  await refreshBanks();
}

const declinedKey = 'memory3-demo-deleted-default-bank';
/** The default model's bank, while that model is loaded (the "Install the default bank" button's target). */
let installable: { model: string; bank: string } | null = null;

/**
 * Installs the knowledge bank shipped with the default model (public/banks/, first load only) and
 * selects it for generation unless another bank is; a failure is shown and leaves the page usable
 * without it (and the install button offered). A bank the user deleted is only offered, not installed.
 */

export async function installDefaultBank(model: string, opts: { evenIfDeleted?: boolean } = {}): Promise<void> {
  const engine = app.engine;
  if (!engine) return;
  const bank = `${model}-knowledge`,
    offer = $<HTMLButtonElement>('install-default-bank');
  installable = { model, bank };
  const bar = $<HTMLProgressElement>('encode-progress'),
    status = $('encode-status');
  if (opts.evenIfDeleted) localStorage.removeItem(declinedKey);
  else if (localStorage.getItem(declinedKey) === bank && !(await engine.memory.list()).some((b) => b.name === bank)) {
    offer.hidden = false;
    status.textContent = `The default knowledge bank "${bank}" was deleted; it is not installed again unless you ask.`;
    return;
  }
  offer.hidden = true;
  try {
    const r = await ensureBundledBank(engine, new URL(`banks/${model}-knowledge.json`, document.baseURI).href, model, {
      onProgress: ({ loaded, total }) => {
        bar.hidden = false;
        bar.max = total;
        bar.value = loaded;
        status.textContent = `Installing the default knowledge bank: ${mib(loaded)} / ${mib(total)}`;
      },
    });
    if (!r) return;
    status.textContent = r.installed
      ? `Installed the default knowledge bank "${r.name}" (${r.manifest.references} references of ${r.manifest.documents} held-out documents).`
      : `The default knowledge bank "${r.name}" is ready.`;
    await refreshBanks();
    const use = $<HTMLSelectElement>('use-bank');
    if (!use.value) use.value = r.name;
    showExamples(r.manifest.examples ?? [], r.name);
    bump('bundledBank');
  } catch (err) {
    status.textContent = 'The default knowledge bank could not be installed.';
    offer.hidden = false;
    showError(err);
  } finally {
    bar.hidden = true;
  }
}

export function wireKnowledgePanel(): void {
  $('create-bank').addEventListener('click', () => void app.engine?.memory.createBank(selectedBank()).then(refreshBanks, showError));
  $('add-doc').addEventListener(
    'click',
    () =>
      void addDocuments([
        { source: $<HTMLInputElement>('doc-source').value || 'pasted text', text: $<HTMLTextAreaElement>('doc-text').value },
      ]),
  );
  $('doc-files').addEventListener('change', (e) => {
    const files = [...((e.target as HTMLInputElement).files ?? [])];
    void Promise.all(files.map(async (f) => ({ source: f.name, text: await f.text() }))).then(addDocuments);
  });
  $('cancel-encode').addEventListener('click', () => encoding?.abort());
  $('install-default-bank').addEventListener('click', () => {
    if (installable) void installDefaultBank(installable.model, { evenIfDeleted: true });
  });
  $('import-bank').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void importBank(f).catch(showError);
    (e.target as HTMLInputElement).value = '';
  });
  app.listeners.add(() => {
    setEncoding(false);
    installable = null;
    hideExamples();
    $('install-default-bank').hidden = true;
    $('import-bank').closest('label')!.classList.toggle('disabled', !app.engine);
    $<HTMLInputElement>('import-bank').disabled = !app.engine;
    void refreshBanks().catch(showError);
  });
}
