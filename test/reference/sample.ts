/**
 * The reference for the GPU sampler (src/kernels/sample.ts): the engine's own CPU Sampler
 * (src/sampling/sampler.ts), which keeps its float64 masses and is what the GPU must match token
 * for token for the same PRNG state.
 */
export { Sampler as SamplerRef } from '../../src/sampling/sampler';
