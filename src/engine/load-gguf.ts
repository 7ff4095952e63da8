/**
 * The descriptors of a GGUF model: every split's header (only headers: the data is streamed later
 * with the safetensors path's converter), the config from the metadata, the tokenizer and chat
 * template from `tokenizer.ggml.*` / `tokenizer.chat_template`, and where each tensor lies.
 */
import { ggufMeta, ggufSplitFiles, readGgufHeader, type GgufHeader } from '../model/gguf';
import { ggufModelConfig, ggufTensorIndex, locateGgufTensors, type GgufFile } from '../model/gguf-model';
import type { ModelSource } from '../model/source';
import type { LocatedTensor } from '../model/tensor-plan';
import { ggufTokenizerFiles } from '../tokenizer/gguf-vocab';
import { Tokenizer } from '../tokenizer/tokenizer';
import { ModelConfigError, ModelFormatError, TruncatedFileError } from '../util/errors';
import type { ModelConfig } from '../model/config';

export interface GgufDescriptors {
  config: ModelConfig;
  tokenizer: Tokenizer;
  files: string[]; // the splits, in order
  tensors: Map<string, LocatedTensor>; // HF name → where it lies
}

function splitInfo(h: GgufHeader, file: string): { no: number; count: number; tensors: number | null } {
  const count = h.metadata.get('split.count'),
    no = h.metadata.get('split.no'),
    tensors = h.metadata.get('split.tensors.count');
  if (count === undefined) return { no: 0, count: 1, tensors: null };
  if (typeof count !== 'number' || typeof no !== 'number' || count < 1 || no < 0 || no >= count) {
    throw new ModelFormatError(`${file}: split.no ${String(no)} / split.count ${String(count)} are inconsistent`, {
      file,
      field: 'split.count',
    });
  }
  return { no, count, tensors: typeof tensors === 'number' ? tensors : null };
}

/** Reads the headers of `entry` and, for a split model (`-00001-of-0000N.gguf`), of every split. */
async function readSplits(source: ModelSource, entry: string): Promise<GgufFile[]> {
  const first = await readGgufHeader(source, entry);
  const { count, tensors } = splitInfo(first, entry);
  const names = ggufSplitFiles(entry);
  if (count !== names.length) {
    throw new ModelConfigError(
      `${entry}: the file says it is split ${count} ways, its name says ${names.length} ` +
        '(split models are named <name>-00001-of-0000N.gguf; load the first split)',
      { file: entry, expected: count, actual: names.length },
    );
  }
  if (names[0] !== entry) throw new ModelConfigError(`${entry} is not the first split; load ${names[0]}`, { file: entry });
  const files: GgufFile[] = [{ path: entry, header: first }];
  for (let i = 1; i < names.length; i++) {
    const header = await readGgufHeader(source, names[i]);
    if (splitInfo(header, names[i]).no !== i)
      throw new ModelFormatError(`${names[i]}: split.no is not ${i}`, { file: names[i], field: 'split.no' });
    files.push({ path: names[i], header });
  }
  const total = files.reduce((a, f) => a + f.header.tensors.length, 0);
  if (tensors !== null && total !== tensors) {
    throw new ModelFormatError(`${entry}: the splits hold ${total} tensors, split.tensors.count says ${tensors}`, {
      file: entry,
      expected: tensors,
      actual: total,
    });
  }
  return files;
}

/** rope_freqs.weight (Llama-3 scaling) or rope_factors_{long,short}.weight (LongRoPE): rotaryDim/2 f32 divisors of the RoPE frequencies. */
async function ropeFactors(
  source: ModelSource,
  t: { name: string; file: string; begin: number; end: number; type: string; dims: number[] },
  half: number,
): Promise<Float32Array> {
  if (t.type !== 'F32' || t.dims.length !== 1 || t.dims[0] !== half) {
    throw new ModelConfigError(`GGUF ${t.name} must be ${half} F32 values, got ${t.type} [${t.dims.join(', ')}]`, {
      tensor: t.name,
    });
  }
  const out = new Uint8Array(t.end - t.begin);
  let filled = 0;
  const reader = (await source.stream(t.file, t.begin, t.end)).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const n = Math.min(r.value.length, out.length - filled);
    out.set(r.value.subarray(0, n), filled);
    filled += n;
  }
  if (filled < out.length) {
    throw new TruncatedFileError(`${t.file}: rope_freqs.weight ends after ${filled} of ${out.length} bytes`, {
      file: t.file,
      tensor: 'rope_freqs.weight',
      expected: out.length,
      received: filled,
    });
  }
  return new Float32Array(out.buffer);
}

export async function loadGgufDescriptors(source: ModelSource, entry: string): Promise<GgufDescriptors> {
  const files = await readSplits(source, entry);
  const head = files[0].header;
  const index = ggufTensorIndex(files);
  const config = ggufModelConfig(head, new Set(index.keys()), index.get('token_embd.weight')?.dims ?? null);
  const freqs = index.get('rope_freqs.weight');
  if (freqs) config.ropeFreqFactors = await ropeFactors(source, freqs, config.rotaryDim / 2);
  const long = index.get('rope_factors_long.weight'),
    short = index.get('rope_factors_short.weight');
  if (long && short) {
    const arch = String(head.metadata.get('general.architecture'));
    config.longRope = {
      longFactor: [...(await ropeFactors(source, long, config.rotaryDim / 2))],
      shortFactor: [...(await ropeFactors(source, short, config.rotaryDim / 2))],
      original: ggufMeta<number>(head, `${arch}.rope.scaling.original_context_length`, 'number'),
      attnFactor: ggufMeta<number>(head, `${arch}.rope.scaling.attn_factor`, 'number', 1),
    };
  }
  const { tokenizerJson, tokenizerConfig } = ggufTokenizerFiles(head.metadata);
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, tokenizerConfig, { eosTokenId: config.eosTokenIds });
  const arch = String(head.metadata.get('general.architecture'));
  return { config, tokenizer, files: files.map((f) => f.path), tensors: locateGgufTensors(config, arch, index) };
}
