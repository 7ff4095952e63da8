/**
 * A GGUF model as the engine sees it: the ModelConfig its metadata implies (llama.cpp's keys, as
 * convert_hf_to_gguf.py writes them) and where each tensor the transformer reads lies, under its
 * Hugging Face name and shape. The llama architecture's q/k rows are stored interleaved per head
 * (llama.cpp rotates adjacent pairs); they are marked to be put back in HF order on load, so the
 * layer loop and explicit memory see one RoPE convention whatever the file.
 */
import { MissingTensorError, ModelConfigError, ShapeMismatchError, UnsupportedDtypeError, UnsupportedModelError } from '../util/errors';
import { architectures, archByFamily, archByGguf, ggufNameFromTemplates, ggufNameOf, type ArchSpec } from './arch/index';
import { checkLayerCount, type ModelConfig } from './config';
import { ggufMeta, supportedGgufTypes, type GgufHeader, type GgufTensorInfo } from './gguf';
import { expectedTensors, splitFused, type LocatedTensor } from './tensor-plan';

/** HF tensor name → llama.cpp's GGUF name, as the architecture declares it (model/arch; default Llama's). */
export function ggufTensorName(hfName: string, family = 'llama'): string {
  const name = ggufNameFromTemplates(archByFamily(family), hfName);
  if (!name) throw new ModelConfigError(`no GGUF name for tensor ${hfName}`, { tensor: hfName });
  return name;
}

/** Which GGUF architecture strings the engine runs. */
export const ggufArchitectures = [...new Set(architectures.flatMap((a) => (a.ggufArch ? [a.ggufArch] : [])))];

/** llama.cpp's RoPE for the arch: 'norm' rotates adjacent pairs (q/k rows interleaved in the file), 'neox' halves as HF. */
export function ggufInterleavesQk(arch: string): boolean {
  return archByGguf(arch)?.ggufRope === 'norm';
}

/** token ids the metadata names, for the config's BOS and EOS. */
function tokenId(h: GgufHeader, key: string): number | null {
  const v = h.metadata.get(key);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
}

function checkSupported(h: GgufHeader, arch: string): void {
  const scaling = h.metadata.get(`${arch}.rope.scaling.type`);
  if (scaling !== undefined && scaling !== 'none') {
    throw new UnsupportedModelError(`GGUF rope scaling ${JSON.stringify(scaling)} is not supported (only none, or Llama-3 rope_freqs)`, {
      ropeScaling: String(scaling),
    });
  }
  const experts = h.metadata.get(`${arch}.expert_count`);
  if (typeof experts === 'number' && experts > 0)
    throw new UnsupportedModelError(`mixture-of-experts GGUF models (${experts} experts) are not supported`, { experts });
}

/** The ModelConfig a GGUF header implies. `tensorNames`: every tensor in the model's files. */
export function ggufModelConfig(h: GgufHeader, tensorNames: ReadonlySet<string>, embedDims: readonly number[] | null): ModelConfig {
  const arch = ggufMeta<string>(h, 'general.architecture', 'string');
  const known: ArchSpec | undefined = archByGguf(arch);
  if (!known) {
    throw new UnsupportedModelError(`Unsupported GGUF architecture "${arch}"; supported: ${ggufArchitectures.join(', ')}`, {
      architecture: arch,
    });
  }
  checkSupported(h, arch);
  const int = (key: string, fallback?: number) => {
    const v = ggufMeta<number>(h, `${arch}.${key}`, 'number', fallback);
    if (!Number.isInteger(v) || v <= 0)
      throw new ModelConfigError(`GGUF metadata "${arch}.${key}" must be a positive integer, got ${v}`, { field: `${arch}.${key}` });
    return v;
  };
  const hiddenSize = int('embedding_length');
  const numHeads = int('attention.head_count');
  const numKvHeads = int('attention.head_count_kv', numHeads);
  const headDim = int('attention.key_length', hiddenSize / numHeads);
  if (int('attention.value_length', headDim) !== headDim)
    throw new UnsupportedModelError('GGUF attention.value_length ≠ key_length is not supported', {
      field: `${arch}.attention.value_length`,
    });
  if (numHeads % numKvHeads !== 0 || headDim % 2 !== 0) {
    throw new ModelConfigError(`GGUF heads (${numHeads} query, ${numKvHeads} kv, dim ${headDim}) are inconsistent`, {
      field: `${arch}.attention.head_count_kv`,
    });
  }
  const vocabSize = embedDims?.[1] ?? int('vocab_size');
  const eos = ['eos', 'eot', 'eom'].map((k) => tokenId(h, `tokenizer.ggml.${k}_token_id`)).filter((v): v is number => v !== null);
  const numLayers = checkLayerCount(int('block_count'), `GGUF metadata "${arch}.block_count"`);
  const intermediateSize = int('feed_forward_length');
  const tieWordEmbeddings = !tensorNames.has('output.weight');
  const shape = { hiddenSize, numHeads, numKvHeads, headDim, numLayers, intermediateSize, vocabSize, tieWordEmbeddings };
  const block = known.blockFromGguf(h, shape, tensorNames);
  if (int('rope.dimension_count', headDim) !== block.rotaryDim)
    throw new UnsupportedModelError(`partial rotary embeddings (rope.dimension_count < head dim) are not supported for ${arch}`, {
      field: `${arch}.rope.dimension_count`,
    });
  return {
    family: known.family,
    architecture: known.hfArchitecture,
    ...block,
    hiddenSize,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize,
    numLayers,
    vocabSize,
    rmsNormEps: ggufMeta<number>(h, `${arch}.attention.layer_norm_rms_epsilon`, 'number'),
    ropeTheta: ggufMeta<number>(h, `${arch}.rope.freq_base`, 'number', 10000),
    ropeScaling: null,
    maxPositionEmbeddings: int('context_length'),
    tieWordEmbeddings,
    bosTokenId: tokenId(h, 'tokenizer.ggml.bos_token_id'),
    eosTokenIds: [...new Set(eos)],
    memory3: null,
  };
}

export interface GgufFile {
  path: string;
  header: GgufHeader;
}

/** Every tensor of the model's files by GGUF name (a split model spreads them over several files). */
export function ggufTensorIndex(files: readonly GgufFile[]): Map<string, GgufTensorInfo & { file: string }> {
  const all = new Map<string, GgufTensorInfo & { file: string }>();
  for (const f of files) {
    for (const t of f.header.tensors) {
      const prev = all.get(t.name);
      if (prev) throw new ModelConfigError(`GGUF tensor "${t.name}" is in both ${prev.file} and ${f.path}`, { tensor: t.name });
      all.set(t.name, { ...t, file: f.path });
    }
  }
  return all;
}

/**
 * Where each tensor `cfg` needs lies, under HF names and shapes, checked: MissingTensorError,
 * ShapeMismatchError, UnsupportedDtypeError (a type the engine does not read, e.g. Q5_K).
 */
export function locateGgufTensors(
  cfg: ModelConfig,
  arch: string,
  index: ReadonlyMap<string, GgufTensorInfo & { file: string }>,
): Map<string, LocatedTensor> {
  const out = new Map<string, LocatedTensor>();
  const files = [...new Set([...index.values()].map((t) => t.file))];
  const names = ggufNameOf(archByFamily(cfg.family), cfg);
  for (const [hfName, shape] of expectedTensors(cfg)) {
    const name = names.get(hfName)!;
    const t = index.get(name);
    if (!t) {
      throw new MissingTensorError(`GGUF tensor "${name}" (${hfName}, shape [${shape.join(', ')}]) not found in ${files.join(', ')}`, {
        tensor: name,
        expected: shape,
        files,
      });
    }
    const hfShape = [...t.dims].reverse();
    if (hfShape.length !== shape.length || hfShape.some((d, i) => d !== shape[i])) {
      throw new ShapeMismatchError(
        `GGUF tensor "${name}" in ${t.file}: expected dims [${[...shape].reverse().join(', ')}], got [${t.dims.join(', ')}]`,
        { tensor: name, file: t.file, expected: [...shape].reverse(), actual: t.dims },
      );
    }
    if (!t.dtype) {
      throw new UnsupportedDtypeError(
        `GGUF tensor "${name}" in ${t.file} has type ${t.type}; the engine loads ${supportedGgufTypes.join(', ')}`,
        { tensor: name, file: t.file, dtype: t.type },
      );
    }
    const qk = /self_attn\.[qk]_proj\./.test(hfName) && ggufInterleavesQk(arch);
    out.set(hfName, {
      name: hfName,
      dtype: t.dtype,
      shape,
      file: t.file,
      begin: t.begin,
      end: t.end,
      interleavedHeadRows: qk ? cfg.headDim : undefined,
    });
  }
  return splitFused(cfg, out);
}
