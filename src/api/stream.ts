/** A push-to-pull queue: the worker pushes deltas, the caller pulls them with for await. */
export class DeltaStream<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((e: unknown) => void) | null = null;
  private done = false;
  private error: unknown = null;

  push(item: T): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.clearWaiter();
      w({ value: item, done: false });
    } else this.items.push(item);
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error ?? null;
    if (this.waiting) {
      const w = this.waiting,
        f = this.failWaiting;
      this.clearWaiter();
      if (error !== undefined && error !== null) f!(error);
      else w({ value: undefined as never, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined as never, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: async () => {
        const settled = this.onCancel?.();
        this.items.length = 0;
        this.done = true;
        await settled;
        return { value: undefined as never, done: true };
      },
    };
  }

  /**
   * Called when the consumer stops iterating early (break): aborts the generation and returns a
   * promise that settles once the engine has let go of it, which return() waits for, so the
   * request after a `break` is never refused as busy.
   */
  onCancel?: () => Promise<void> | void;

  private clearWaiter(): void {
    this.waiting = null;
    this.failWaiting = null;
  }
}
