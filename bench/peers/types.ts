/**
 * What a browser peer (onnxruntime-web's WebGPU EP, wllama) reports to the speed bench: the same
 * figures as ours, over the same prompt ids and the same weights, measured on the same bench page.
 */

export interface PeerSpeedOptions {
  modelUrl: string; // the peer's model file URL on the bench server (its own format of the bench model)
  promptTokens: number[];
  promptText?: string; // the same prompt as text (our tokenizer's decoding), for a peer whose API takes only text
  maxTokens: number; // tokens generated greedily, past end-of-sequence
  warmupTokens: number; // a first, unmeasured generation of this many tokens
  contextLength: number;
  usableVocab?: number; // greedy over ids [0, usableVocab): ours never samples ids past the tokenizer's
  threads?: number; // CPU threads a wasm peer may use (default: navigator.hardwareConcurrency)
}

export interface PeerRunFigures {
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number; // call → first generated token
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number; // (completionTokens − 1) / (last token − first token)
  medianDecodeStepMs: number;
  tokens: number[]; // the generated ids (greedy: comparable with ours on the same weights)
}

export interface PeerSpeedResult {
  name: string; // e.g. 'onnxruntime-web', 'wllama'
  version: string; // the npm package version
  backend: string; // e.g. 'webgpu', 'wasm (2 threads)'
  loadMs: number;
  warmup: PeerRunFigures;
  measured: PeerRunFigures;
  notes: string[]; // anything a reader must know to compare fairly (export options, fallbacks)
}
