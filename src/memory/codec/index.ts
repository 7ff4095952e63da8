/**
 * Memory codecs: f32, f16, int8/int4 per-vector scaled, product quantization; per vector and per
 * record (keys + values of one reference). See each module's header for byte layouts.
 */
export { codecNames } from './check';
export { scaleBytes, qMax } from './scalar';
export {
  pqCentroids,
  defaultPqSubvectors,
  trainPq,
  serializeCodebook,
  deserializeCodebook,
  type PqCodebook,
  type PqTrainOptions,
} from './pq';
export { bytesPerVector, encodeVectors, decodeVectors } from './vectors';
export {
  recordBytes,
  encodeRecord,
  decodeRecord,
  trainRecordCodec,
  checkRecordCodec,
  type RecordCodec,
  type RecordTensors,
  type RecordTrainOptions,
} from './record';
export { relativeError, codecReport, type CodecReportRow, type CodecReportOptions } from './report';
