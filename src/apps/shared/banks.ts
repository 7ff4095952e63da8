/** Saving a knowledge bank as a file download (engine.memory.export). */
import type { Memory3Engine } from '../../index';

/** Saves a bank as a download named `<bank>.m3bank`; resolves to its size in bytes. */
export async function downloadBank(engine: Memory3Engine, name: string): Promise<number> {
  const blob = await new Response(await engine.memory.export(name)).blob();
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: `${name}.m3bank` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return blob.size;
}
