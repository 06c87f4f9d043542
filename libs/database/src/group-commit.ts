interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Runs one write for many concurrent callers, the way a database's group commit does. The first
 * caller for a key is served at once; callers that arrive while that write is in flight are
 * collected and served together by the next one. So nothing waits for a timer, and batches grow
 * exactly when the database round trip is what limits throughput.
 *
 * `write` answers the items of a batch in order. If it throws, every caller of that batch gets
 * the error, unless `writeOne` is given: then the items of a failed batch of several are written
 * again one by one, so an item that cannot be written fails only its own caller.
 */
export class GroupCommit<T, R> {
  private readonly waiting = new Map<string, Waiter<T, R>[]>();
  private readonly busy = new Set<string>();
  private readonly maxBatch: number;
  private readonly writeOne: ((key: string, item: T) => Promise<R>) | undefined;

  constructor(
    private readonly write: (key: string, items: T[]) => Promise<R[]>,
    options: { maxBatch?: number; writeOne?: (key: string, item: T) => Promise<R> } = {},
  ) {
    this.maxBatch = options.maxBatch ?? 100;
    this.writeOne = options.writeOne;
  }

  submit(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push({ item, resolve, reject });
      else this.waiting.set(key, [{ item, resolve, reject }]);
      if (!this.busy.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.busy.add(key);
    try {
      for (let queue = this.waiting.get(key); queue && queue.length > 0; queue = this.waiting.get(key)) {
        const batch = queue.splice(0, this.maxBatch);
        if (queue.length === 0) this.waiting.delete(key);
        try {
          const results = await this.write(
            key,
            batch.map((waiter) => waiter.item),
          );
          batch.forEach((waiter, index) => waiter.resolve(results[index]));
        } catch (error: unknown) {
          const writeOne = this.writeOne;
          if (writeOne && batch.length > 1)
            await Promise.all(
              batch.map((waiter) =>
                writeOne(key, waiter.item).then(
                  (result) => waiter.resolve(result),
                  (failure: unknown) => waiter.reject(failure),
                ),
              ),
            );
          else for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      this.busy.delete(key);
    }
  }
}
