/** The demo page end to end: cached model loading, streaming generation, banks, inspector, export/import. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright';
import { expectThat, newContext, screenshot, watchPage, type E2EContext, type E2ETest } from '../../tools/e2e/harness';

const catsDoc = '# Cats\n\nCats are small felines. A cat purrs and sleeps in the sun all day long.';
const fact = 'Iron is a metal with symbol Fe. Iron rusts in water and air, forming red iron oxide.';

const bundledBank = 'memory3-tiny-knowledge';
/** The shipped bank's manifest: the demo must list every reference it holds. */
const bundledManifest = JSON.parse(readFileSync(new URL('../../public/banks/memory3-tiny-knowledge.json', import.meta.url), 'utf8')) as {
  references: number;
};

async function loadDefault(page: Page): Promise<void> {
  await page.evaluate(() => {
    delete document.body.dataset.ready;
  });
  await page.click('#load-default');
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || !document.getElementById('error')!.hidden, null, {
    timeout: 60_000,
  });
  const err = await page.locator('#error').isVisible();
  expectThat(!err, `model loaded without error, got: ${await page.locator('#error').textContent()}`);
}

async function generateOnce(page: Page, n: number): Promise<string> {
  await page.click('#generate');
  await page.waitForFunction((k) => Number(document.body.dataset.generated ?? 0) >= k || !document.getElementById('error')!.hidden, n, {
    timeout: 60_000,
  });
  expectThat(!(await page.locator('#error').isVisible()), `generation without error: ${await page.locator('#error').textContent()}`);
  return (await page.locator('#output').textContent()) ?? '';
}

async function modelLoadAndCache(ctx: E2EContext): Promise<void> {
  const context = await newContext(ctx.browser);
  const page = await context.newPage();
  const errors = watchPage(page, ctx.log);
  const modelRequests: string[] = [];
  page.on('request', (r) => {
    if (/\/(models|banks)\//.test(r.url())) modelRequests.push(r.url());
  });
  // Small parts so the Range-resumable path (several parts per weight file) is the one exercised.
  await page.goto(`${ctx.demoUrl}?partSize=131072`);
  await loadDefault(page);
  const downloaded = Number(await page.evaluate(() => document.body.dataset.downloaded));
  expectThat(downloaded > 500_000, `first load downloads the model (${downloaded} bytes)`);
  expectThat((await page.locator('#use-bank').inputValue()) === bundledBank, 'the default knowledge bank is installed and selected');
  const bundledRefs = Number(await page.locator(`#banks tr[data-bank="${bundledBank}"] td`).nth(1).textContent());
  expectThat(
    bundledRefs === bundledManifest.references,
    `the default knowledge bank lists its references (${bundledRefs}, the manifest says ${bundledManifest.references})`,
  );
  expectThat(/GPU memory/.test((await page.locator('#model-info').textContent()) ?? ''), 'model info shows GPU memory');
  await page.fill('#temperature', '0');
  const text = await generateOnce(page, 1);
  expectThat(text.length > 0, 'streamed text appears in the output');
  const figures = (await page.locator('#live').textContent()) ?? '';
  expectThat(/time to first token \d+ ms/.test(figures) && /decode [\d.]+ tok\/s/.test(figures), `live figures shown: ${figures}`);
  await screenshot(page, 'demo-1-generate');

  await page.reload();
  modelRequests.length = 0;
  await loadDefault(page);
  expectThat((await page.evaluate(() => document.body.dataset.downloaded)) === '0', 'a reload reads the model from Cache Storage');
  expectThat(
    !modelRequests.some((u) => u.includes('/models/') || u.endsWith('.m3bank')),
    `no model or bank download after reload, saw ${modelRequests.join(', ')}`,
  );
  expectThat(/is ready/.test((await page.locator('#encode-status').textContent()) ?? ''), 'the installed knowledge bank is reused');
  expectThat(/all from the browser cache/.test((await page.locator('#txt-download').textContent()) ?? ''), 'download bar says cached');
  expectThat(/Storage: .* used of/.test((await page.locator('#storage').textContent()) ?? ''), 'storage estimate shown');
  await screenshot(page, 'demo-2-cached-reload');

  // An interrupted download: drop one stored part and the file's completion marker; only that part is fetched again.
  await page.evaluate(async () => {
    const cache = await caches.open('memory3-models-v1');
    const file = new URL('models/memory3-tiny/model.safetensors', location.href).href;
    await cache.delete(`${file}?memory3-part=2`);
    await cache.delete(`${file}?memory3-complete`);
  });
  await page.reload();
  await loadDefault(page);
  const resumed = Number(await page.evaluate(() => document.body.dataset.downloaded));
  expectThat(resumed === 131072, `a resumed download fetches only the missing 128 KiB part (fetched ${resumed} bytes)`);

  // A deleted default bank is not installed again on the next load, only when asked.
  page.once('dialog', (d) => void d.accept());
  const bundledRow = page.locator(`#banks tr[data-bank="${bundledBank}"]`);
  await bundledRow.getByRole('button', { name: 'Delete' }).click();
  await bundledRow.waitFor({ state: 'detached' });
  await page.reload();
  modelRequests.length = 0;
  await loadDefault(page);
  expectThat((await bundledRow.count()) === 0 && !modelRequests.some((u) => u.endsWith('.m3bank')), 'a deleted default bank stays deleted');
  expectThat(await page.locator('#install-default-bank').isVisible(), 'the page offers to install the default bank again');
  const installs = Number(await page.evaluate(() => document.body.dataset.bundledBank ?? 0));
  await page.click('#install-default-bank');
  await page.waitForFunction(
    (n) => Number(document.body.dataset.bundledBank ?? 0) > n || !document.getElementById('error')!.hidden,
    installs,
    { timeout: 60_000 },
  );
  await bundledRow.waitFor();
  expectThat(!(await page.locator('#install-default-bank').isVisible()), 'the offer disappears once the bank is installed');
  expectThat(errors.length === 0, `no page errors: ${errors.join('\n')}`);
  await context.close();
}

async function bankAndInspector(ctx: E2EContext): Promise<void> {
  const context = await newContext(ctx.browser);
  const page = await context.newPage();
  const errors = watchPage(page, ctx.log);
  await page.goto(ctx.demoUrl);
  await loadDefault(page);
  await page.fill('#bank-name', 'e2e-facts');
  await page.fill('#doc-source', 'iron.txt');
  await page.fill('#doc-text', fact);
  await page.click('#add-doc');
  await page.waitForFunction(() => Number(document.body.dataset.encoded ?? 0) >= 1 || !document.getElementById('error')!.hidden, null, {
    timeout: 60_000,
  });
  expectThat(!(await page.locator('#error').isVisible()), `encoding without error: ${await page.locator('#error').textContent()}`);
  await page.setInputFiles('#doc-files', { name: 'cats.md', mimeType: 'text/markdown', buffer: Buffer.from(catsDoc) });
  await page.waitForFunction(() => Number(document.body.dataset.encoded ?? 0) >= 2 || !document.getElementById('error')!.hidden, null, {
    timeout: 60_000,
  });
  const row = page.locator('#banks tr[data-bank="e2e-facts"]');
  await row.waitFor();
  const refs = (await row.locator('td').nth(1).textContent()) ?? '';
  expectThat(Number(refs) >= 2, `bank lists its references (${refs})`);
  expectThat((await page.locator('#use-bank').inputValue()) === 'e2e-facts', 'the new bank is selected for generation');

  await page.fill('#prompt', 'What is the symbol of the metal?');
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '70');
  await generateOnce(page, 1);
  const inspector = (await page.locator('#inspector').textContent()) ?? '';
  expectThat(
    inspector.includes('iron.txt') && inspector.includes('symbol Fe'),
    `inspector shows the retrieved reference: ${inspector.slice(0, 300)}`,
  );
  const decode = page.locator('#inspector li.chunk.decode').first();
  if (await decode.count()) {
    await decode.click();
    expectThat((await page.locator('#output span.hl').count()) > 0, 'selecting a decode chunk highlights its tokens');
  }
  await screenshot(page, 'demo-3-inspector');

  const exportButton = row.getByRole('button', { name: 'Export' });
  const [download] = await Promise.all([page.waitForEvent('download'), exportButton.click()]);
  const file = join(mkdtempSync(join(tmpdir(), 'm3-e2e-')), 'e2e-facts.m3bank');
  await download.saveAs(file);
  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  await page.setInputFiles('#import-bank', file);
  await page.waitForFunction(() => Number(document.body.dataset.imported ?? 0) >= 1 || !document.getElementById('error')!.hidden, null, {
    timeout: 30_000,
  });
  expectThat(!(await page.locator('#error').isVisible()), `import without error: ${await page.locator('#error').textContent()}`);
  await row.waitFor();
  expectThat(((await row.locator('td').nth(1).textContent()) ?? '') === refs, 're-imported bank has the same references');
  await screenshot(page, 'demo-4-banks');
  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  expectThat(errors.length === 0, `no page errors: ${errors.join('\n')}`);
  await context.close();
}

/** The issue's own check: a fact the model never saw, added as a document, answered from memory. */
const newFact = 'Mara Velde was born in Tampere in 1961 and works as a pilot.';

async function ask(page: Page, question: string, bank: string, n: number): Promise<string> {
  await page.click('#reset');
  await page.selectOption('#use-bank', bank);
  await page.fill('#prompt', question);
  return generateOnce(page, n);
}

async function answersFromMemory(ctx: E2EContext): Promise<void> {
  const context = await newContext(ctx.browser);
  const page = await context.newPage();
  const errors = watchPage(page, ctx.log);
  await page.goto(ctx.demoUrl);
  await loadDefault(page);
  // The default bank's example questions are offered, and one click answers one of them.
  await page.locator('#examples .example').first().waitFor({ timeout: 60_000 });
  const examples = await page.locator('#examples .example').count();
  expectThat(examples >= 2, `the default bank offers example questions (${examples})`);
  const example = page.locator('#examples .example').first();
  const expected = ((await example.getAttribute('title')) ?? '').match(/answered "(.*)" when/)?.[1] ?? '';
  await example.click();
  await page.waitForFunction(() => Number(document.body.dataset.generated ?? 0) >= 1 || !document.getElementById('error')!.hidden, null, {
    timeout: 60_000,
  });
  const exampleReply = ((await page.locator('#output').textContent()) ?? '').trim();
  expectThat(
    expected !== '' && exampleReply.startsWith(expected.replace(/\.$/, '')),
    `the example is answered as when the bank was built: "${exampleReply}" vs "${expected}"`,
  );

  await page.fill('#bank-name', 'e2e-new-fact');
  await page.fill('#doc-source', 'mara.txt');
  await page.fill('#doc-text', newFact);
  await page.click('#add-doc');
  await page.waitForFunction(() => Number(document.body.dataset.encoded ?? 0) >= 1 || !document.getElementById('error')!.hidden, null, {
    timeout: 60_000,
  });
  expectThat(!(await page.locator('#error').isVisible()), `encoding without error: ${await page.locator('#error').textContent()}`);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '16');
  const withMemory = await ask(page, 'Where was Mara Velde born?', 'e2e-new-fact', 2);
  expectThat(/Tampere/.test(withMemory), `with the bank, the reply has the answer: "${withMemory}"`);
  const inspector = (await page.locator('#inspector').textContent()) ?? '';
  expectThat(
    inspector.includes('mara.txt') && inspector.includes('Tampere'),
    `inspector shows the fact's reference: ${inspector.slice(0, 300)}`,
  );
  await screenshot(page, 'demo-5-new-fact-from-memory');
  const without = await ask(page, 'Where was Mara Velde born?', '', 3);
  expectThat(!/Tampere/.test(without), `without the bank, the reply does not know it: "${without}"`);
  const year = await ask(page, 'In what year was Mara Velde born?', 'e2e-new-fact', 4);
  expectThat(/1961/.test(year), `a second fact of the same document: "${year}"`);
  page.once('dialog', (d) => void d.accept());
  await page.locator('#banks tr[data-bank="e2e-new-fact"]').getByRole('button', { name: 'Delete' }).click();
  expectThat(errors.length === 0, `no page errors: ${errors.join('\n')}`);
  await context.close();
}

export const demoTests: E2ETest[] = [
  { name: 'demo: a fact added as a document is answered from memory, and not without it', run: answersFromMemory },
  { name: 'demo: load the default model through the cache, generate, reload from cache', run: modelLoadAndCache },
  { name: 'demo: bank, memory inspector, export and re-import', run: bankAndInspector },
];
