/** Memory policies the kernels cannot run faithfully are refused, not run wrong (issue 14 item 7). */
import { describe, expect, it } from 'vitest';
import { policyFromConfig, resolvePolicy } from '../../src/memory/policy';
import { InvalidOptionsError, ModelConfigError } from '../../src/util/errors';

describe('policies that would give silent wrong answers', () => {
  it('a model with more than 32 kv heads reads memory in every head or is refused (the head mask has 32 bits)', () => {
    const big = { numLayers: 4, numKvHeads: 40 };
    expect(resolvePolicy(big).memoryHeads).toHaveLength(40);
    expect(() => resolvePolicy(big, {}, { memoryHeads: [0, 1] })).toThrow(InvalidOptionsError);
    expect(() => resolvePolicy(big, {}, { memoryHeads: [0, 1] })).toThrow(/40 kv heads .*32 bits/);
    expect(() => resolvePolicy(big, { memoryHeads: [33] })).toThrow(/memoryHeads/);
    expect(resolvePolicy({ numLayers: 4, numKvHeads: 32 }, {}, { memoryHeads: [31] }).memoryHeads).toEqual([31]);
  });

  it('a memory layout that starts the context past max_position_embeddings is refused', () => {
    const m = { numLayers: 2, numKvHeads: 2, maxPositionEmbeddings: 256 };
    expect(resolvePolicy(m, {}, { referenceLength: 255 }).referenceLength).toBe(255);
    expect(() => resolvePolicy(m, {}, { referenceLength: 256 })).toThrow(/referenceLength must be below the model's 256 positions/);
    expect(() => resolvePolicy(m, {}, { referenceLength: 64, memoriesPerRetrieval: 4, positionScheme: 'contiguous' })).toThrow(
      /starts the context at position 256/,
    );
    expect(resolvePolicy(m, {}, { referenceLength: 64, memoriesPerRetrieval: 3, positionScheme: 'contiguous' }).memoriesPerRetrieval).toBe(
      3,
    );
  });
});

describe("config.json's memory3 block", () => {
  it('is read in snake_case or camelCase, and an unknown key is refused, not ignored', () => {
    expect(policyFromConfig({ memory_layers: [0], tokensPerHead: 4 })).toEqual({ memoryLayers: [0], tokensPerHead: 4 });
    expect(policyFromConfig(null)).toEqual({});
    expect(() => policyFromConfig({ memory_layer: [0] })).toThrow(ModelConfigError);
    expect(() => policyFromConfig({ memory_layer: [0] })).toThrow(/memory3\.memory_layer is not a memory policy knob/);
  });
});
