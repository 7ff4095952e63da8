/**
 * A bank writer that can be stopped dead: it runs one store operation and, at the chosen fault point,
 * tells the page and stops until the page terminates it. Terminating a worker runs none of its catch
 * or finally blocks and aborts its open transactions: what a crashed tab leaves behind. Points: after
 * the n-th committed write transaction or at a side of a bank switch (the writer waits on a promise
 * that never settles), or at the n-th put, inside a transaction (the writer spins; Chromium then
 * needs about 2 s to stop the thread, so tests use few of these).
 */
import { createBank, deleteBank, importBank, openBank, storeFaultHooks, type StoreCheckpoint } from '../../src/memory/store/index';
import { makeItems, testMeta } from './memory-store';

export type CrashOp =
  | { op: 'import'; name: string; file: Blob; overwrite: boolean }
  | { op: 'create'; name: string; overwrite: boolean }
  | { op: 'delete'; name: string }
  | { op: 'putBatches'; name: string; batches: number; perBatch: number; source: string };
export type CrashJob = CrashOp & { at: { put?: number; commit?: number; checkpoint?: Exclude<StoreCheckpoint, 'committed'> } };
export type CrashReply = { frozen: string } | { done: true } | { error: string };

function spin(where: string): never {
  self.postMessage({ frozen: where } satisfies CrashReply);
  for (;;) {
    /* stopped dead inside the transaction until terminated */
  }
}

function stall(where: string): Promise<void> {
  self.postMessage({ frozen: where } satisfies CrashReply);
  return new Promise<void>(() => {
    /* never settles: the writer waits here until terminated */
  });
}

async function run(job: CrashOp): Promise<void> {
  if (job.op === 'import') (await importBank(job.file, { name: job.name, overwrite: job.overwrite })).close();
  else if (job.op === 'create')
    (await createBank(job.name, testMeta({ modelFingerprint: 'model-created' }), { overwrite: job.overwrite })).close();
  else if (job.op === 'delete') await deleteBank(job.name);
  else {
    const store = await openBank(job.name);
    for (let b = 0; b < job.batches; b++) {
      await store.putBatch(makeItems(9000 + b, job.perBatch, job.source), {
        source: job.source,
        status: b === job.batches - 1 ? 'done' : 'partial',
        hash: 'h',
      });
    }
    store.close();
  }
}

self.onmessage = async (e: MessageEvent<CrashJob>) => {
  const { at, ...job } = e.data;
  let puts = 0,
    commits = 0;
  storeFaultHooks.beforePut = () => {
    if (at.put !== undefined && ++puts === at.put) spin(`put ${at.put}`);
  };
  storeFaultHooks.checkpoint = (point) => {
    if (point === 'committed' && at.commit !== undefined && ++commits === at.commit) return stall(`commit ${at.commit}`);
    if (point === at.checkpoint) return stall(point);
  };
  try {
    await run(job);
    self.postMessage({ done: true } satisfies CrashReply);
  } catch (err) {
    self.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` } satisfies CrashReply);
  }
};
