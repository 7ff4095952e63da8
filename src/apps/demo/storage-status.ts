/** The storage line both panels refresh: browser storage use and the models in the Cache Storage. */
import { listCachedModels } from '../shared/model-cache';
import { describeStorage, mib, storageReport } from '../shared/storage';
import { $ } from './ui';

export async function refreshStorage(): Promise<void> {
  const models = await listCachedModels().catch(() => []);
  const cached = models.length ? ` · cached models: ${models.map((m) => `${new URL(m.base).pathname} (${mib(m.bytes)})`).join(', ')}` : '';
  $('storage').textContent = describeStorage(await storageReport()) + cached;
}
