import { randomUUID } from 'node:crypto';

import { AppConfig } from '@app/config';
import { RedisCacheMetrics } from '@app/observability';
import { InjectRedis } from '@app/redis';
import { Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

// Compare-and-act scripts: only the holder's token may extend or drop the lease.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface HeldLease {
  /** Aborted when the lease could not be renewed: another worker may own the account now. */
  signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * One sync per account across all worker replicas. BullMQ's deduplication already keeps a second
 * job out of the queue; the lease covers what it cannot: a stalled job handed to another worker
 * while the first still runs. It expires on its own when its worker dies, after the same time as
 * the job's BullMQ lock (JOB_LOCK_DURATION), so it does not hold a handed-over job back longer.
 */
@Injectable()
export class SyncLease {
  private readonly logger = new Logger(SyncLease.name);

  constructor(
    private readonly config: AppConfig,
    @InjectRedis() private readonly redis: Redis,
    private readonly metrics: RedisCacheMetrics,
  ) {}

  async acquire(tenantId: string, accountId: string): Promise<HeldLease | null> {
    const key = `sync-lease:${tenantId}:${accountId}`;
    const token = randomUUID();
    const ttlMs = this.config.worker.jobLockMs;
    const taken = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    this.metrics.record('sync_lease', taken !== 'OK');
    if (taken !== 'OK') return null;

    const controller = new AbortController();
    let renewedAt = Date.now();
    const timer = setInterval(() => {
      this.redis
        .eval(RENEW, 1, key, token, ttlMs)
        .then((renewed) => {
          if (renewed === 1) renewedAt = Date.now();
          else controller.abort(new Error('sync lease lost'));
        })
        .catch((error: unknown) => {
          this.logger.warn({ err: error, accountId }, 'Could not renew the sync lease');
          // Past its TTL the lease may belong to someone else already.
          if (Date.now() - renewedAt > ttlMs)
            controller.abort(new Error('sync lease expired while Redis was unreachable'));
        });
    }, ttlMs / 3);
    timer.unref();

    return {
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }
}
