/**
 * Node side of the Llama ONNX exporter: `npx tsx tools/onnx/export-file.ts <model folder> <out.onnx>
 * [--max-positions N]` reads config.json + model.safetensors (F32) and streams model.onnx to disk one
 * tensor at a time, so memory stays at about one tensor however large the model.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { llamaOnnx, type LlamaOnnxOptions } from './export-llama';
import { safetensorsReader } from './safetensors-reader';

/** Writes `out` (through `out`.tmp, then a rename); returns its size in bytes. */
export function exportLlamaFolder(dir: string, out: string, o: LlamaOnnxOptions = {}): number {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const fd = openSync(join(dir, 'model.safetensors'), 'r');
  const tmp = `${out}.tmp-${process.pid}`;
  const outFd = openSync(tmp, 'w');
  try {
    const readRange = (begin: number, end: number) => {
      const buf = Buffer.allocUnsafe(end - begin);
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, begin + done);
        if (n === 0) throw new Error(`${dir}/model.safetensors: ends at ${begin + done}, wanted ${end}`);
        done += n;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    };
    const model = llamaOnnx(config, safetensorsReader(readRange, fstatSync(fd).size, `${dir}/model.safetensors`), o);
    model.writeTo((chunk) => {
      let done = 0;
      while (done < chunk.length) done += writeSync(outFd, chunk, done);
    });
    closeSync(outFd);
    renameSync(tmp, out);
    return model.byteLength;
  } finally {
    closeSync(fd);
    try {
      closeSync(outFd);
    } catch {}
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, out, flag, value] = process.argv.slice(2);
  if (!dir || !out) throw new Error('usage: tsx tools/onnx/export-file.ts <model folder> <out.onnx> [--max-positions N]');
  const maxPositions = flag === '--max-positions' ? Number(value) : undefined;
  const bytes = exportLlamaFolder(dir, out, { maxPositions });
  console.log(`wrote ${out} (${(bytes / 1e6).toFixed(1)} MB)`);
}
