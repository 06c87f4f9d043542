import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * The keyed entries the service looks up in Redis before acting. None of them caches data read
 * elsewhere: a hit means the lookup found the entry and the work it stands for was not repeated.
 * - `sync_dedupe`: a requested sync found one already queued or running for the account (API);
 * - `sync_lease`: a worker found another worker's lease on the account it was about to sync;
 * - `sync_tick`: a scheduler replica found the periodic-sync tick already served by another.
 */
export type RedisLookup = 'sync_dedupe' | 'sync_lease' | 'sync_tick';

/** redis_cache_hits_total / redis_cache_misses_total, by the lookup (`store`) that was made. */
export class RedisCacheMetrics {
  private readonly hits: Counter<'store'>;
  private readonly misses: Counter<'store'>;

  constructor(registry: Registry, lookups: readonly RedisLookup[]) {
    this.hits = new Counter({
      name: 'redis_cache_hits_total',
      help: 'Lookups of keyed entries in Redis that found the entry (sync_dedupe, sync_lease, sync_tick; no data cache lives in Redis)',
      labelNames: ['store'],
      registers: [registry],
    });
    this.misses = new Counter({
      name: 'redis_cache_misses_total',
      help: 'Lookups of keyed entries in Redis that found none, so the caller created it',
      labelNames: ['store'],
      registers: [registry],
    });
    // Every lookup this app makes shows from the start, so a rate over a fresh process is 0, not absent.
    for (const store of lookups) {
      this.hits.labels(store).inc(0);
      this.misses.labels(store).inc(0);
    }
  }

  record(store: RedisLookup, found: boolean): void {
    (found ? this.hits : this.misses).labels(store).inc();
  }
}
