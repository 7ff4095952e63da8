/**
 * Explicit memory while generating (Memory³): the prefix goes first, then the prompt in
 * retrievalInterval-sized chunks that each attend to the memories retrieved for the interval of
 * text ending where they end (a full chunk's own text; a short last chunk's with the text before
 * it; after a cached conversation only what the prompt adds, when that is at least 8 tokens)
 * (logits are computed and read back only after the last chunk); while decoding, every interval
 * the memory slots are swapped for new ones and the context is never re-prefilled.
 *
 * The work sits at retrieval time, not on the per-token path: a swap's retrieval starts
 * policy.retrievalLead tokens before the swap (its query is the retrievalInterval tokens ending
 * there), its text is decoded and its memories are packed into the slots' back set (MemorySlots.stage)
 * as soon as they arrive, while the GPU runs those steps; the swap itself flips the slot sets. A
 * decode step does O(1) work here: push the token into a fixed ring, pass the same slot list. A
 * retrieval longer than the lead delays the swap's step by the difference (the event's waitMs).
 * The first decoded chunk reuses the last prompt chunk's memories. `settle()` waits for a
 * retrieval still running when generation ends.
 */
import type { MemoryProvider, RetrievalEvent } from '../memory/provider';
import { contextPositionOffset, type MemorySlots } from '../memory/slots';
import type { Feeder } from './feeder';
import type { Session } from './session';

interface Pending {
  /** Settles once the memories are staged in the slots' back set (or the retrieval failed). */
  staged: Promise<void>;
  query: string;
  started: number;
  finished?: number;
  references: RetrievalEvent['references'];
  corrupt: number[];
}

/** Fewest new prompt tokens a query is made of alone (fewer: the query reaches back into cached text). */
const minFreshQuery = 8;

export class MemoryFeeder implements Feeder {
  /** The last retrievalInterval tokens (the prompt's tail, then generated ones), a ring: (interval). */
  private readonly ring: Int32Array;
  private ringCount = 0;
  private lastReferences: RetrievalEvent['references'] = [];
  private pending: Pending | null = null;
  readonly events: RetrievalEvent[] = [];

  constructor(
    private readonly session: Session,
    private readonly provider: MemoryProvider,
    private readonly slots: MemorySlots,
    private readonly prefixIds: readonly number[],
    private readonly onRetrieval: (e: RetrievalEvent) => void,
  ) {
    this.ring = new Int32Array(this.interval);
  }

  private get interval(): number {
    return this.provider.policy.retrievalInterval;
  }
  /** Tokens between a decode retrieval's start and its swap. */
  private get lead(): number {
    return Math.min(this.provider.policy.retrievalLead, this.interval - 1);
  }
  private get offset(): number {
    return contextPositionOffset(this.provider.policy);
  }
  get positionOffset(): number {
    return this.offset;
  }

  /** Starts a retrieval for `tokens` (retrieval-time work: decode, search, fetch, pack into the back slots). */
  private start(tokens: readonly number[], signal?: AbortSignal): Pending {
    const query = this.session.tokenizer.decode(tokens, { skipSpecialTokens: true });
    const p: Pending = { staged: Promise.resolve(), query, started: performance.now(), references: [], corrupt: [] };
    p.staged = this.provider.retrieve(query, signal).then((r) => {
      p.finished = performance.now(); // the retrieval's own duration (search, fetch, decode), not the GPU work it overlapped with
      this.slots.stage(r.memories.map((m) => m.data));
      p.references = r.memories.map((m) => m.reference);
      p.corrupt = r.corrupt;
    });
    p.staged.catch(() => {}); // a failure surfaces where the swap awaits it (or settle() drops it), never as unhandled
    return p;
  }

  /** Waits for `p`'s memories (not at all when they are staged already) and swaps them in. */
  private async apply(p: Pending, phase: RetrievalEvent['phase'], chunk: number, span: [number, number]): Promise<void> {
    const needed = performance.now(),
      ready = p.finished !== undefined;
    await p.staged;
    const waitMs = ready ? 0 : performance.now() - needed;
    this.slots.swap();
    this.lastReferences = p.references;
    this.emit({
      phase,
      chunk,
      span,
      query: p.query,
      references: p.references,
      corrupt: p.corrupt,
      reused: false,
      ms: p.finished! - p.started,
      leadMs: needed - p.started,
      waitMs,
    });
  }

  private emit(e: RetrievalEvent): void {
    this.events.push(e);
    this.onRetrieval(e);
  }

  private push(token: number): void {
    this.ring[this.ringCount % this.ring.length] = token;
    this.ringCount++;
  }

  /** The ring's tokens, oldest first (retrieval time only). */
  private window(): number[] {
    const n = this.ring.length,
      have = Math.min(n, this.ringCount),
      out = new Array<number>(have);
    for (let i = 0; i < have; i++) out[i] = this.ring[(this.ringCount - have + i) % n];
    return out;
  }

  async prompt(ids: readonly number[], signal?: AbortSignal) {
    const e = this.session,
      b = this.prefixIds.length,
      n = this.interval;
    const cached = e.reuse([...this.prefixIds, ...ids], this.provider.tag);
    let i = Math.max(0, cached - b);
    // A chunk's query is the interval of tokens ending where the chunk ends: a full chunk's own text,
    // a short last chunk's with the text before it. After a cached conversation it holds only what
    // the prompt adds (the new question, not the old replies), unless that is too little to search
    // on (a prompt re-run from its cache adds one token): then the whole interval.
    const fresh = i;
    const query = (end: number) => {
      const window = Math.max(0, end - n);
      return ids.slice(end - fresh >= minFreshQuery ? Math.max(window, fresh) : window, end);
    };
    let next: Pending | null = this.start(query(Math.min((Math.floor(i / n) + 1) * n, ids.length)), signal); // overlaps the prefix's prefill
    try {
      if (cached < b) await e.append(this.prefixIds.slice(cached), { signal, logits: false });
      while (i < ids.length) {
        const c = Math.floor(i / n),
          end = Math.min((c + 1) * n, ids.length);
        await this.apply(next!, 'prompt', c, [c * n, end]);
        next = end < ids.length ? this.start(query(Math.min(end + n, ids.length)), signal) : null; // prefetch the next chunk's memories
        const last = end === ids.length;
        await e.append(ids.slice(i, end), { signal, memory: this.slots.layerMemory(), positionOffset: this.offset, logits: last });
        i = end;
      }
    } finally {
      if (next) await next.staged.catch(() => {}); // a prefetch the loop did not reach (it stopped on an error)
    }
    for (const t of ids.slice(Math.max(0, ids.length - n))) this.push(t);
    return { logits: e.logits, cached };
  }

  /** Waits for a retrieval started for a chunk that generation never reached (its failure is moot). */
  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p) await p.staged.catch(() => {});
  }

  async next(token: number, index: number, signal?: AbortSignal): Promise<Float32Array> {
    const n = this.interval;
    if (index % n === 0) {
      const chunk = index / n,
        span: [number, number] = [index, index + n];
      if (index === 0) this.emitReuse(span);
      else {
        const p = this.pending!;
        this.pending = null;
        await this.apply(p, 'decode', chunk, span);
      }
    }
    this.push(token);
    // The step is submitted before the retrieval's CPU work starts, so the two overlap.
    const logits = this.session.append([token], { signal, memory: this.slots.layerMemory(), positionOffset: this.offset });
    // The next swap is at the next multiple of n; its retrieval starts `lead` tokens before it.
    if ((index + 1 + this.lead) % n === 0 && index + 1 + this.lead >= n) this.pending = this.start(this.window(), signal);
    return logits;
  }

  /** The first decoded chunk reads the last prompt chunk's memories. */
  private emitReuse(span: [number, number]): void {
    const last = this.events[this.events.length - 1];
    this.emit({
      phase: 'decode',
      chunk: 0,
      span,
      query: last?.query ?? '',
      references: this.lastReferences,
      corrupt: [],
      reused: true,
      ms: 0,
      leadMs: 0,
      waitMs: 0,
    });
  }
}
