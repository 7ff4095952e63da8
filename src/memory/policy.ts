/**
 * The memory policy: the paper's values as defaults, a model's own `memory3` block in config.json
 * on top, and API overrides on top of that. Validation names the knob and its allowed range.
 */
import { InvalidOptionsError, ModelConfigError } from '../util/errors';
import type { InferenceKnob } from './api-types';
import type { CodecName, MemoryPolicy, PositionScheme } from './types';

export interface PolicyModelShape {
  numLayers: number;
  numKvHeads: number;
  /** When given, the policy's memory layout must leave the context RoPE positions inside it. */
  maxPositionEmbeddings?: number;
}

/** The attention kernel's memory-head mask is one u32: beyond 32 KV heads only "every head" can be expressed. */
export const maxMaskedKvHeads = 32;

export function defaultPolicy(m: PolicyModelShape): MemoryPolicy {
  return {
    memoryLayers: Array.from({ length: Math.max(1, Math.floor(m.numLayers / 2)) }, (_, i) => i),
    memoryHeads: Array.from({ length: m.numKvHeads }, (_, i) => i),
    tokensPerHead: 8,
    referenceLength: 128,
    memoriesPerRetrieval: 5,
    retrievalInterval: 64,
    retrievalLead: 16,
    referencePrefix: '<s>Reference:',
    positionScheme: 'parallel',
    codec: { keys: 'f16', values: 'f16' },
    dedupThreshold: null,
    minRelativeScore: null,
  };
}

/** config.json `memory3` keys (snake_case) → policy fields. */
const configKeys: Record<string, keyof MemoryPolicy> = {
  memory_layers: 'memoryLayers',
  memory_heads: 'memoryHeads',
  tokens_per_head: 'tokensPerHead',
  reference_length: 'referenceLength',
  memories_per_retrieval: 'memoriesPerRetrieval',
  retrieval_interval: 'retrievalInterval',
  retrieval_lead: 'retrievalLead',
  reference_prefix: 'referencePrefix',
  position_scheme: 'positionScheme',
  codec: 'codec',
  dedup_threshold: 'dedupThreshold',
  min_relative_score: 'minRelativeScore',
};

/** The knobs a generation may override; the others are fixed by the bank that was encoded with them. */
export const inferenceKnobs: readonly InferenceKnob[] = [
  'memoriesPerRetrieval',
  'retrievalInterval',
  'retrievalLead',
  'positionScheme',
  'dedupThreshold',
  'minRelativeScore',
];

export function policyFromConfig(block: Record<string, unknown> | null): Partial<MemoryPolicy> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(block ?? {})) {
    const field = configKeys[k] ?? (Object.values(configKeys).includes(k as keyof MemoryPolicy) ? k : null);
    if (!field) {
      throw new ModelConfigError(`config.json: memory3.${k} is not a memory policy knob (known: ${Object.keys(configKeys).join(', ')})`, {
        field: `memory3.${k}`,
      });
    }
    out[field] = v;
  }
  return out as Partial<MemoryPolicy>;
}

const codecs: CodecName[] = ['f32', 'f16', 'int8', 'int4', 'pq'];
const schemes: PositionScheme[] = ['parallel', 'contiguous'];

function fail(knob: string, range: string, value: unknown): never {
  throw new InvalidOptionsError(`memory policy: ${knob} must be ${range}, got ${JSON.stringify(value)}`, { option: knob });
}

function intIn(knob: string, v: unknown, lo: number, hi: number): void {
  if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) fail(knob, `an integer in [${lo}, ${hi}]`, v);
}

function indexList(knob: string, v: unknown, n: number): void {
  if (!Array.isArray(v) || v.length === 0) fail(knob, `a non-empty list of indices < ${n}`, v);
  const seen = new Set<number>();
  for (const i of v as unknown[]) {
    intIn(knob, i, 0, n - 1);
    if (seen.has(i as number)) fail(knob, 'a list without repeats', v);
    seen.add(i as number);
  }
}

/** Defaults ← model config block ← overrides, validated against the model's shape. */
export function resolvePolicy(
  m: PolicyModelShape,
  fromConfig: Partial<MemoryPolicy> = {},
  overrides: Partial<MemoryPolicy> = {},
): MemoryPolicy {
  const p: MemoryPolicy = { ...defaultPolicy(m), ...fromConfig, ...overrides };
  p.codec = { ...defaultPolicy(m).codec, ...fromConfig.codec, ...overrides.codec };
  indexList('memoryLayers', p.memoryLayers, m.numLayers);
  indexList('memoryHeads', p.memoryHeads, m.numKvHeads);
  p.memoryLayers = [...p.memoryLayers].sort((a, b) => a - b);
  p.memoryHeads = [...p.memoryHeads].sort((a, b) => a - b);
  intIn('referenceLength', p.referenceLength, 1, 4096);
  intIn('tokensPerHead', p.tokensPerHead, 1, p.referenceLength);
  intIn('memoriesPerRetrieval', p.memoriesPerRetrieval, 0, 64);
  intIn('retrievalInterval', p.retrievalInterval, 1, 65536);
  intIn('retrievalLead', p.retrievalLead, 0, 65535);
  if (typeof p.referencePrefix !== 'string') fail('referencePrefix', 'a string', p.referencePrefix);
  if (!schemes.includes(p.positionScheme)) fail('positionScheme', `one of ${schemes.join(', ')}`, p.positionScheme);
  if (!codecs.includes(p.codec.keys)) fail('codec.keys', `one of ${codecs.join(', ')}`, p.codec.keys);
  if (!codecs.includes(p.codec.values)) fail('codec.values', `one of ${codecs.join(', ')}`, p.codec.values);
  if (p.codec.pqSubvectors !== undefined) intIn('codec.pqSubvectors', p.codec.pqSubvectors, 1, 256);
  if (m.numKvHeads > maxMaskedKvHeads && p.memoryHeads.length !== m.numKvHeads) {
    fail(
      'memoryHeads',
      `every kv head for a model with ${m.numKvHeads} kv heads (the attention kernel's memory-head mask has ${maxMaskedKvHeads} bits, so a subset would alias heads)`,
      p.memoryHeads,
    );
  }
  if (m.maxPositionEmbeddings !== undefined) {
    const offset = p.positionScheme === 'parallel' ? p.referenceLength : p.memoriesPerRetrieval * p.referenceLength;
    if (offset >= m.maxPositionEmbeddings) {
      fail(
        p.positionScheme === 'parallel' ? 'referenceLength' : 'memoriesPerRetrieval × referenceLength',
        `below the model's ${m.maxPositionEmbeddings} positions (the ${p.positionScheme} layout starts the context at position ${offset})`,
        offset,
      );
    }
  }
  if (p.dedupThreshold !== null && !(typeof p.dedupThreshold === 'number' && p.dedupThreshold > 0 && p.dedupThreshold <= 1)) {
    fail('dedupThreshold', 'a number in (0, 1] or null', p.dedupThreshold);
  }
  if (p.minRelativeScore !== null && !(typeof p.minRelativeScore === 'number' && p.minRelativeScore > 0 && p.minRelativeScore <= 1)) {
    fail('minRelativeScore', 'a number in (0, 1] or null', p.minRelativeScore);
  }
  return p;
}

/** A stable string of everything in a policy that changes what a bank stores (for bank compatibility). */
export function policyFingerprint(p: MemoryPolicy): string {
  return JSON.stringify({
    l: p.memoryLayers,
    h: p.memoryHeads,
    k: p.tokensPerHead,
    r: p.referenceLength,
    x: p.referencePrefix,
    c: [p.codec.keys, p.codec.values, p.codec.pqSubvectors ?? null],
  });
}
