/** The offline chat PWA end to end, on its production build with the real service worker. */
import type { BrowserContext, Page } from 'playwright';
import { expectThat, newContext, screenshot, watchPage, type E2EContext, type E2ETest } from '../../tools/e2e/harness';

async function openChat(ctx: E2EContext, context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = watchPage(page, ctx.log);
  await page.goto(ctx.chatUrl);
  await waitReady(page);
  return { page, errors };
}

async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || !document.getElementById('alert')!.hidden, null, {
    timeout: 60_000,
  });
  expectThat(!(await page.locator('#alert').isVisible()), `the engine loads: ${await page.locator('#alert').textContent()}`);
}

async function say(page: Page, text: string): Promise<string> {
  const before = Number(await page.evaluate(() => document.body.dataset.replies ?? 0));
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForFunction((n) => Number(document.body.dataset.replies ?? 0) > n || !document.getElementById('alert')!.hidden, before, {
    timeout: 60_000,
  });
  expectThat(!(await page.locator('#alert').isVisible()), `a reply without error: ${await page.locator('#alert').textContent()}`);
  return (await page.locator('#messages li.assistant').last().textContent()) ?? '';
}

/** The service worker controls the page and has finished caching the default model. */
async function waitOfflineReady(page: Page): Promise<void> {
  await page.waitForFunction(
    async () => {
      if (!navigator.serviceWorker.controller) return false;
      const cache = await caches.open('memory3-models-v1');
      return !!(await cache.match(new URL('models/memory3-tiny/model.safetensors', location.href).href));
    },
    null,
    { timeout: 30_000, polling: 250 },
  );
}

async function conversationsPersist(ctx: E2EContext): Promise<void> {
  const context = await newContext(ctx.browser);
  const { page, errors } = await openChat(ctx, context);
  await say(page, 'Hello there');
  const reply2 = await say(page, 'And a second message');
  expectThat(reply2.length > 0, 'the assistant streams a reply');
  const note = (await page.locator('#messages li.assistant .note').last().textContent()) ?? '';
  const m = /(\d+)\/(\d+) prompt tokens reused from the KV cache/.exec(note);
  expectThat(m && Number(m[1]) > 0, `the second turn reuses the first turn's KV cache: ${note}`);
  await screenshot(page, 'chat-1-conversation');

  await page.click('#new-chat');
  await say(page, 'Another conversation');
  expectThat(
    (await page.locator('#bank').inputValue()) === 'memory3-tiny-knowledge',
    'a new conversation reads the default knowledge bank',
  );
  await say(page, 'What is the atomic number of barium?');
  const knowledgeNote = (await page.locator('#messages li.assistant .note').last().textContent()) ?? '';
  expectThat(knowledgeNote.includes('elements/barium'), `the reply read barium's entry from the default bank: ${knowledgeNote}`);
  await page.reload();
  await waitReady(page);
  expectThat((await page.locator('#conversations li').count()) === 2, 'both conversations are listed after a reload');
  expectThat(
    (await page.locator('#messages li.user').first().textContent()) === 'Another conversation',
    'the open conversation is restored',
  );
  await page.locator('#conversations li', { hasText: 'Hello there' }).click();
  await page.locator('#messages li.user', { hasText: 'And a second message' }).waitFor();
  expectThat((await page.locator('#messages li.assistant').count()) === 2, 'the first conversation keeps both replies');
  await screenshot(page, 'chat-2-after-reload');
  // A new conversation reading the default bank offers the questions that bank answers; one click asks one.
  await page.click('#new-chat');
  const example = page.locator('#messages .examples .example').first();
  await example.waitFor({ timeout: 30_000 });
  const expected = ((await example.getAttribute('title')) ?? '').match(/answered "(.*)" when/)?.[1] ?? '';
  const before = Number(await page.evaluate(() => document.body.dataset.replies ?? 0));
  await example.click();
  await page.waitForFunction((n) => Number(document.body.dataset.replies ?? 0) > n || !document.getElementById('alert')!.hidden, before, {
    timeout: 60_000,
  });
  const answer = ((await page.locator('#messages li.assistant').last().textContent()) ?? '').trim();
  expectThat(
    expected !== '' && answer.startsWith(expected.replace(/\.$/, '')),
    `the example question is answered from the bank: "${answer}" (built: "${expected}")`,
  );
  await screenshot(page, 'chat-2-example-from-memory');
  expectThat(errors.length === 0, `no page errors: ${errors.join('\n')}`);
  await context.close();
}

async function offlineWithKnowledge(ctx: E2EContext): Promise<void> {
  const context = await newContext(ctx.browser);
  const { page, errors } = await openChat(ctx, context);
  await waitOfflineReady(page);
  await context.setOffline(true);
  await page.reload();
  await waitReady(page);
  const cacheNames = await page.evaluate(() => caches.keys());
  expectThat(
    cacheNames.includes('memory3-models-v1') && cacheNames.some((n) => n.startsWith('workbox-precache')),
    `separate model and app-shell caches: ${cacheNames.join(', ')}`,
  );
  const reply = await say(page, 'Are you still there offline?');
  expectThat(reply.length > 0, 'a reply offline');
  await screenshot(page, 'chat-3-offline');

  await page.setInputFiles('#knowledge-files', {
    name: 'iron.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('Iron is a metal with symbol Fe. Iron rusts in water and air, forming red iron oxide.'),
  });
  await page.waitForFunction(() => Number(document.body.dataset.banks ?? 0) >= 1 || !document.getElementById('alert')!.hidden, null, {
    timeout: 60_000,
  });
  expectThat((await page.locator('#bank').inputValue()) === 'iron', 'the new bank is attached to the conversation');
  await say(page, 'What is the symbol of the metal?');
  const note = (await page.locator('#messages li.assistant .note').last().textContent()) ?? '';
  expectThat(note.includes('memory read from iron.txt'), `the reply read the bank: ${note}`);
  await screenshot(page, 'chat-4-offline-knowledge');
  await context.setOffline(false);
  expectThat(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)).length === 0, `no page errors: ${errors.join('\n')}`);
  await context.close();
}

export const chatTests: E2ETest[] = [
  { name: 'chat: streaming replies, KV reuse across turns, conversations survive a reload', run: conversationsPersist },
  { name: 'chat: offline after one visit (service worker), with a knowledge bank', run: offlineWithKnowledge },
];
