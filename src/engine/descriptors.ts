/**
 * A model's descriptors, no GPU involved (so this runs and is tested anywhere): from a Hugging Face
 * folder, config.json, tokenizer.json and the optional tokenizer_config.json and
 * generation_config.json (read so that a web page served in place of a file is named as one); or
 * from a GGUF file's metadata (load-gguf.ts).
 */
import { parseModelConfig, type ModelConfig } from '../model/config';
import { readJsonFile, type ModelSource } from '../model/source';
import type { LocatedTensor } from '../model/tensor-plan';
import { Tokenizer } from '../tokenizer/tokenizer';
import { ModelConfigError, ModelFetchError } from '../util/errors';
import { loadGgufDescriptors } from './load-gguf';

export interface Descriptors {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** config.json's content, serialized again (GGUF: the config its metadata implies), for the model fingerprint. */
  configText: string;
  /** A GGUF model's files and tensors (null: a safetensors checkpoint, whose headers are read with the weights). */
  gguf: { files: string[]; tensors: Map<string, LocatedTensor> } | null;
}

/** The GGUF file to load, or null for a safetensors folder. */
async function ggufEntry(source: ModelSource): Promise<string | null> {
  if (source.entry) return source.entry;
  const files = source.list?.() ?? null;
  const safetensors = files ? files.some((f) => /(^|\/)model\.safetensors(\.index\.json)?$/.test(f)) : true;
  if (!files || (safetensors && (await source.exists('config.json')))) return null;
  const later = (f: string) => Number(/-(\d{5})-of-\d{5}\.gguf$/i.exec(f)?.[1] ?? 1) > 1; // splits after the first
  const ggufs = files.filter((f) => /\.gguf$/i.test(f) && !later(f)).sort();
  if (ggufs.length > 1) {
    throw new ModelConfigError(`${source.description} holds ${ggufs.length} GGUF models (${ggufs.join(', ')}); pick one file`, {
      files: ggufs,
    });
  }
  return ggufs[0] ?? null;
}

/** config.json; a folder without one (or a web page in its place) is named as what it is. */
async function readConfig(source: ModelSource): Promise<unknown> {
  try {
    return await readJsonFile(source, 'config.json');
  } catch (err) {
    const d = err instanceof ModelFetchError ? err.details : undefined;
    if (!d || d.webPage || (d.status !== undefined && d.status !== 404 && d.status !== 410)) throw err;
    throw new ModelFetchError(
      `config.json not found in ${source.description} (${err instanceof Error ? err.message : err}): a model folder needs config.json, ` +
        'tokenizer.json and model.safetensors (or model.safetensors.index.json with its shards), or a .gguf file',
      { ...d, file: 'config.json' },
    );
  }
}

export async function loadDescriptors(source: ModelSource): Promise<Descriptors> {
  const entry = await ggufEntry(source);
  if (entry) {
    const { config, tokenizer, files, tensors } = await loadGgufDescriptors(source, entry);
    return { config, tokenizer, configText: JSON.stringify(config), gguf: { files, tensors } };
  }
  const configJson = await readConfig(source);
  const configText = JSON.stringify(configJson);
  const config = parseModelConfig(configJson);
  const tokenizerJson = await readJsonFile(source, 'tokenizer.json');
  const tokenizerConfig = await readJsonFile(source, 'tokenizer_config.json', { optional: true });
  const generationConfig = (await readJsonFile(source, 'generation_config.json', { optional: true })) as {
    eos_token_id?: number | number[];
  } | null;
  const eos = [...config.eosTokenIds, ...[generationConfig?.eos_token_id ?? []].flat()];
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, tokenizerConfig, { eosTokenId: eos });
  return { config, tokenizer, configText, gguf: null };
}
