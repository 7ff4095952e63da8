/**
 * Node side of the onnxruntime-web peer: the ONNX export (tools/onnx/export-file.ts) of the bench
 * model, written once into its folder as bench/.cache/<bench model>/model.onnx and kept while a stamp
 * of the bench model's hash, the exporter's sources and the export options is current (the bench
 * model's own rewrite replaces the folder, and so the export with it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportLlamaFolder } from '../../tools/onnx/export-file';
import type { LlamaOnnxOptions } from '../../tools/onnx/export-llama';
import { benchModelHash, ensureBenchModel } from '../lib/model';
import { filesRoute } from '../lib/server';

export interface OrtBenchModel {
  path: string; // absolute path of model.onnx
  url: string; // its URL path under the bench server's files route: PeerSpeedOptions.modelUrl
  bytes: number;
  written: boolean; // false when the cached export was current
}

const exportOptions: LlamaOnnxOptions = {}; // cos/sin caches over max_position_embeddings (2048)

function exportHash(): string {
  const h = createHash('sha256').update(benchModelHash()).update(JSON.stringify(exportOptions));
  for (const f of ['protobuf.ts', 'export-llama.ts', 'safetensors-reader.ts', 'export-file.ts']) {
    h.update(readFileSync(fileURLToPath(new URL(`../../tools/onnx/${f}`, import.meta.url))));
  }
  return h.digest('hex').slice(0, 16);
}

/** The bench model's ONNX export, (re)written when missing or stale; ensures the bench model first. */
export function ensureOrtBenchModel(log: (line: string) => void = () => {}): OrtBenchModel {
  const model = ensureBenchModel(log);
  const path = join(model.dir, 'model.onnx');
  const stamp = join(model.dir, '.onnx-stamp');
  const url = `${filesRoute}${model.name}/model.onnx`;
  const hash = exportHash();
  if (existsSync(path) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) {
    return { path, url, bytes: statSync(path).size, written: false };
  }
  log(`onnxruntime-web: exporting ${model.name} to ONNX (F32, GroupQueryAttention) into bench/.cache/`);
  const bytes = exportLlamaFolder(model.dir, path, exportOptions);
  writeFileSync(stamp, `${hash}\n`);
  log(`onnxruntime-web: wrote model.onnx (${(bytes / 1e6).toFixed(0)} MB)`);
  return { path, url, bytes, written: true };
}
