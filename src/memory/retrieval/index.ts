/** Retrieval for explicit memory: lexical, embedding and hybrid retrievers, cosine index, cache, dedup. */
export * from './types';
export {
  CosineIndex,
  normalizeInto,
  type CosineIndexKind,
  type CosineIndexOptions,
  type VectorRows,
  type VectorSource,
} from './cosine-index';
export { LexicalRetriever, englishStopWords, lexicalTerms, type LexicalOptions } from './lexical';
export {
  OnnxEmbedder,
  poolRows,
  type EmbedderTokenizer,
  type OnnxEmbedderOptions,
  type OrtEnvOptions,
  type Pooling,
} from './onnx-embedder';
export { EmbeddingRetriever, type EmbeddingRetrieverOptions } from './embedding';
export { HybridRetriever, fuseHits, type Fusion, type HybridOptions } from './hybrid';
export { MemoryCache, type MemoryCacheOptions, type MemoryCacheStats } from './cache';
export {
  DedupRetriever,
  NearDuplicateFilter,
  overlapRatio,
  paperDedupThreshold,
  type NearDuplicateFilterOptions,
  type TokenSeq,
} from './dedup';
export { createIndexWorker, type IndexWorker } from './index-worker-client';
