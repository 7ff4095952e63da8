/**
 * The JS heap of a dedicated worker, after a full garbage collection, read over CDP (workers have no
 * performance.memory): Target.attachToTarget on the browser session, then HeapProfiler.collectGarbage
 * and Runtime.getHeapUsage sent through Target.sendMessageToTarget.
 */
import type { Browser, CDPSession } from 'playwright';

interface TargetInfo {
  targetId: string;
  type: string;
  title: string;
  url: string;
}

async function ask(cdp: CDPSession, sessionId: string, id: number, method: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const on = (e: { sessionId: string; message: string }) => {
      const m = JSON.parse(e.message) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      if (e.sessionId !== sessionId || m.id !== id) return;
      cdp.off('Target.receivedMessageFromTarget' as never, on as never);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result ?? {});
    };
    cdp.on('Target.receivedMessageFromTarget' as never, on as never);
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(reject);
  });
}

/** Used heap bytes of the one worker named `name` (its `new Worker(url, { name })`), after a GC. */
export async function workerHeap(browser: Browser, name: string): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] };
    const found = targetInfos.filter((t) => t.type === 'worker' && t.title === name);
    if (found.length !== 1)
      throw new Error(
        `workerHeap: ${found.length} workers named ${name} (targets: ${targetInfos.map((t) => `${t.type}:${t.title}`).join(', ')})`,
      );
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: found[0].targetId, flatten: false })) as {
      sessionId: string;
    };
    await ask(cdp, sessionId, 1, 'HeapProfiler.collectGarbage');
    const usage = await ask(cdp, sessionId, 2, 'Runtime.getHeapUsage');
    await cdp.send('Target.detachFromTarget', { sessionId });
    return usage.usedSize as number;
  } finally {
    await cdp.detach();
  }
}
