/**
 * Bank import/export through the engine when it offers them (engine.memory.export/import are newer
 * than the rest of the memory API): feature-detected so the apps work either way.
 */
import type { Memory3Engine } from '../../index';

interface BankTransfer {
  export(name: string): Promise<ReadableStream<Uint8Array>>;
  import(data: Blob | ReadableStream<Uint8Array>, opts?: { name?: string; overwrite?: boolean }): Promise<unknown>;
}

export function bankTransfer(engine: Memory3Engine | null): BankTransfer | null {
  const m = engine?.memory as unknown as Partial<BankTransfer> | undefined;
  return m && typeof m.export === 'function' && typeof m.import === 'function' ? m as BankTransfer : null;
}

/** Saves a bank as a download named `<bank>.m3bank`. */
export async function downloadBank(engine: Memory3Engine, name: string): Promise<number> {
  const t = bankTransfer(engine);
  if (!t) throw new Error('This engine build cannot export banks yet.');
  const blob = await new Response(await t.export(name)).blob();
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: `${name}.m3bank` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return blob.size;
}

export const transferNote = 'Import/export needs engine.memory.import/export, which this engine build does not have yet.';
