/**
 * Explicit memory while generating (Memory³): the prefix goes first, then the prompt in
 * retrievalInterval-sized chunks that each attend to the memories retrieved for their own text;
 * while decoding, every interval the last interval's text retrieves new memories and only the
 * memory slots are rewritten. That retrieval starts as soon as the interval's last token is known,
 * so it overlaps the one GPU step that computes the next token; the step after waits for it (a
 * search longer than a decode step delays decoding by the difference). The first decoded chunk
 * reuses the last prompt chunk's memories. `settle()` waits for a retrieval still running when
 * generation ends.
 */
import type { MemoryProvider, Retrieval, RetrievalEvent } from '../memory/provider';
import { contextPositionOffset, type MemorySlots } from '../memory/slots';
import type { Feeder } from './feeder';
import type { Session } from './session';

interface Pending {
  promise: Promise<Retrieval>;
  query: string;
  started: number;
  finished?: number;
}

export class MemoryFeeder implements Feeder {
  private readonly generated: number[] = [];
  private lastReferences: RetrievalEvent['references'] = [];
  private pending: Pending | null = null;
  readonly events: RetrievalEvent[] = [];

  constructor(
    private readonly session: Session,
    private readonly provider: MemoryProvider,
    private readonly slots: MemorySlots,
    private readonly prefixIds: readonly number[],
    private readonly onRetrieval: (e: RetrievalEvent) => void,
  ) {}

  private get interval(): number {
    return this.provider.policy.retrievalInterval;
  }
  private get offset(): number {
    return contextPositionOffset(this.provider.policy);
  }
  get positionOffset(): number {
    return this.offset;
  }

  private start(tokens: readonly number[], signal?: AbortSignal): Pending {
    const query = this.session.tokenizer.decode(tokens, { skipSpecialTokens: true });
    const p: Pending = { promise: Promise.resolve(null as unknown as Retrieval), query, started: performance.now() };
    // The retrieval's own duration (search, fetch, decode), not the GPU work it overlapped with.
    p.promise = this.provider.retrieve(query, signal).then((r) => {
      p.finished = performance.now();
      return r;
    });
    return p;
  }

  private async apply(p: Pending, phase: RetrievalEvent['phase'], chunk: number, span: [number, number]): Promise<void> {
    const r = await p.promise;
    this.slots.write(r.memories.map((m) => m.data));
    this.lastReferences = r.memories.map((m) => m.reference);
    this.emit({
      phase,
      chunk,
      span,
      query: p.query,
      references: this.lastReferences,
      corrupt: r.corrupt,
      reused: false,
      ms: (p.finished ?? performance.now()) - p.started,
    });
  }

  private emit(e: RetrievalEvent): void {
    this.events.push(e);
    this.onRetrieval(e);
  }

  async prompt(ids: readonly number[], signal?: AbortSignal) {
    const e = this.session,
      b = this.prefixIds.length,
      n = this.interval;
    const cached = e.reuse([...this.prefixIds, ...ids], this.provider.tag);
    if (cached < b) await e.append(this.prefixIds.slice(cached), { signal });
    let i = Math.max(0, cached - b);
    let logits = e.logits;
    let next: Pending | null = this.start(ids.slice(Math.floor(i / n) * n, Math.floor(i / n) * n + n), signal);
    try {
      while (i < ids.length) {
        const c = Math.floor(i / n),
          end = Math.min((c + 1) * n, ids.length);
        const current = next!;
        next = end < ids.length ? this.start(ids.slice(end, end + n), signal) : null; // prefetch the next chunk's memories
        await this.apply(current, 'prompt', c, [c * n, end]);
        logits = await e.append(ids.slice(i, end), { signal, memory: this.slots.layerMemory(), positionOffset: this.offset });
        i = end;
      }
    } finally {
      if (next) await next.promise.catch(() => {}); // a prefetch the loop did not reach (it stopped on an error)
    }
    return { logits, cached };
  }

  /** Waits for a retrieval started for a chunk that generation never reached (its failure is moot). */
  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p) await p.promise.catch(() => {});
  }

  async next(token: number, index: number, signal?: AbortSignal): Promise<Float32Array> {
    const n = this.interval;
    if (index % n === 0) {
      const chunk = index / n,
        span: [number, number] = [index, index + n];
      if (index === 0) {
        const last = this.events[this.events.length - 1];
        this.emit({
          phase: 'decode',
          chunk,
          span,
          query: last?.query ?? '',
          references: this.lastReferences,
          corrupt: [],
          reused: true,
          ms: 0,
        });
      } else {
        const p = this.pending!;
        this.pending = null;
        await this.apply(p, 'decode', chunk, span);
      }
    }
    this.generated.push(token);
    // The interval is complete once this token is known: retrieve for the next one while the GPU runs.
    if ((index + 1) % n === 0) this.pending = this.start(this.generated.slice(index + 1 - n, index + 1), signal);
    return this.session.append([token], { signal, memory: this.slots.layerMemory(), positionOffset: this.offset });
  }
}
