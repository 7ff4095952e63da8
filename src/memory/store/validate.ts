/** Boundary checks for the bank store's inputs: named errors that say which field and what was wrong. */
import { InvalidOptionsError, ShapeMismatchError } from '../../util/errors';
import { vectorsPerRecord, type Reference } from '../types';
import type { BankMetaCore, DocumentStatus, NewBankMeta } from './schema';

/** A reference to store; without an id the bank assigns the next free one. */
export type NewReference = Omit<Reference, 'id'> & { id?: number };

export interface BatchItem {
  reference: NewReference;
  /** The codec's bytes (opaque here) and the kept tokens' positions: (memLayers, memHeads, tokensPerHead). */
  record?: { payload: Uint8Array; positions: Uint16Array };
  /** Retrieval embedding; every vector of a bank has the same length. */
  vector?: Float32Array;
}

export interface DocumentUpdate {
  source: string;
  status: DocumentStatus;
  hash: string;
}

function bad(what: string, message: string, details?: Record<string, unknown>): never {
  throw new InvalidOptionsError(`${what}: ${message}`, details);
}

export function checkBankName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    bad('memory bank', `name must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`);
  }
}

const isCount = (n: unknown) => Number.isInteger(n) && (n as number) > 0;

export function checkNewMeta(name: string, m: NewBankMeta): void {
  const what = `createBank("${name}")`;
  if (typeof m?.modelFingerprint !== 'string' || !m.modelFingerprint) bad(what, 'modelFingerprint must be a non-empty string');
  if (!m.policy || !m.codec) bad(what, 'policy and codec are required');
  const s = m.shape;
  if (!s || !isCount(s.memLayers) || !isCount(s.memHeads) || !isCount(s.tokensPerHead) || !isCount(s.headDim)) {
    bad(what, `shape must have positive integer memLayers, memHeads, tokensPerHead, headDim, got ${JSON.stringify(s)}`);
  }
  const want = { memLayers: m.policy.memoryLayers.length, memHeads: m.policy.memoryHeads.length, tokensPerHead: m.policy.tokensPerHead };
  if (s.memLayers !== want.memLayers || s.memHeads !== want.memHeads || s.tokensPerHead !== want.tokensPerHead) {
    bad(what, `shape ${JSON.stringify(s)} disagrees with the policy (${JSON.stringify(want)})`);
  }
  if (m.vectorDim != null && !isCount(m.vectorDim)) bad(what, `vectorDim must be a positive integer, got ${m.vectorDim}`);
  if (m.codebooks !== undefined && !(m.codebooks instanceof Uint8Array)) bad(what, 'codebooks must be a Uint8Array');
}

function checkReference(what: string, r: NewReference): void {
  if (!r || typeof r.source !== 'string' || typeof r.text !== 'string') bad(what, 'reference needs string source and text');
  if (r.id !== undefined && (!Number.isSafeInteger(r.id) || r.id < 0))
    bad(what, `reference id must be a non-negative integer, got ${r.id}`);
  if (!Number.isFinite(r.start) || !Number.isFinite(r.end) || !Number.isInteger(r.tokenCount)) {
    bad(what, `reference of "${r.source}" needs numeric start, end and integer tokenCount`);
  }
  if (r.tokens !== undefined && !validTokens(r.tokens, r.tokenCount)) {
    bad(what, `reference of "${r.source}": tokens must be ${r.tokenCount} (tokenCount) non-negative integer ids`);
  }
}

/** A stored reference's optional token ids: tokenCount non-negative integers. */
export function validTokens(tokens: unknown, tokenCount: number): boolean {
  return Array.isArray(tokens) && tokens.length === tokenCount && tokens.every((t) => Number.isInteger(t) && t >= 0);
}

/** Validates a putBatch call against the bank's shape. */
export function checkBatch(meta: BankMetaCore, items: BatchItem[], doc?: DocumentUpdate): void {
  const what = `putBatch into bank "${meta.name}"`;
  if (!Array.isArray(items)) bad(what, 'items must be an array');
  const perRecord = vectorsPerRecord(meta.shape);
  for (const item of items) {
    checkReference(what, item.reference);
    const rec = item.record;
    if (rec) {
      if (!(rec.payload instanceof Uint8Array) || !(rec.positions instanceof Uint16Array))
        bad(what, 'record needs a Uint8Array payload and Uint16Array positions');
      if (rec.positions.length !== perRecord) {
        throw new ShapeMismatchError(
          `${what}: record positions have ${rec.positions.length} entries, the bank's shape needs ${perRecord} (memLayers × memHeads × tokensPerHead)`,
          { expected: perRecord, actual: rec.positions.length },
        );
      }
    }
    if (item.vector !== undefined && !(item.vector instanceof Float32Array)) bad(what, 'vector must be a Float32Array');
  }
  if (doc && (typeof doc.source !== 'string' || typeof doc.hash !== 'string' || !['done', 'partial'].includes(doc.status))) {
    bad(what, `doc must be { source, status: 'done' | 'partial', hash }, got ${JSON.stringify(doc)}`);
  }
}
