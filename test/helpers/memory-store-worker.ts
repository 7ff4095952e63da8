/** A second writer for the concurrency test: opens a bank in a Worker and writes batches into it. */
import { openBank } from '../../src/memory/store/index';
import { makeItems } from './memory-store';

interface Job {
  name: string;
  seed: number;
  batches: number;
  perBatch: number;
  source: string;
}

self.onmessage = async (e: MessageEvent<Job>) => {
  const { name, seed, batches, perBatch, source } = e.data;
  try {
    const store = await openBank(name);
    const ids: number[] = [];
    for (let b = 0; b < batches; b++) ids.push(...(await store.putBatch(makeItems(seed + b, perBatch, source))));
    store.close();
    self.postMessage({ ids });
  } catch (err) {
    self.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` });
  }
};
