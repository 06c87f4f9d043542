import { AppConfig } from '@app/config';
import { AccountRepository } from '@app/database';
import { RedisCacheMetrics } from '@app/observability';
import { InjectRedis } from '@app/redis';
import { JobName, JobProducer } from '@app/queue';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { Redis } from 'ioredis';

import { TenantSweep } from './tenant-sweep.js';

export const PERIODIC_SYNC_JOB = 'periodic-sync';
/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
const ADVISORY_LOCK_KEY = 7_316_201_901;
/** A tick is claimed for this long, longer than any clock skew between scheduler replicas. */
const TICK_CLAIM_SECONDS = 3600;

export type PeriodicSyncResult =
  | { state: 'disabled' }
  | { state: 'skipped'; reason: string }
  | { state: 'enqueued'; tenants: number; accounts: number };

/**
 * Enqueues a sync for every active account whose backoff has expired, tenant by tenant, then
 * returns. Only one scheduler replica acts per tick: a PostgreSQL advisory lock keeps them from
 * running at once, and a Redis marker for the tick keeps a replica whose clock runs late from
 * enqueueing the same tick again after the first released the lock.
 */
@Injectable()
export class PeriodicSyncCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(PeriodicSyncCron.name);

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    @InjectRedis() private readonly redis: Redis,
    private readonly sweep: TenantSweep,
    private readonly accounts: AccountRepository,
    private readonly producer: JobProducer,
    private readonly metrics: RedisCacheMetrics,
  ) {}

  onApplicationBootstrap(): void {
    // @Cron() is evaluated at import time, before the configuration is validated, so the
    // schedule is registered here from SYNC_CRON instead.
    const job = CronJob.from({
      cronTime: this.config.scheduler.syncCron,
      onTick: () => {
        void this.run(new Date()).catch((error: unknown) => this.logger.error({ err: error }, 'Periodic sync failed'));
      },
      start: true,
    });
    this.registry.addCronJob(PERIODIC_SYNC_JOB, job);
  }

  /** `tick` names the schedule slot being served; replicas serving the same slot act once. */
  async run(tick: Date): Promise<PeriodicSyncResult> {
    if (!this.config.features.imapSync || !this.config.features.backgroundJobs) return { state: 'disabled' };
    return this.sweep.exclusively(ADVISORY_LOCK_KEY, async () => {
      const slot = new Date(Math.floor(tick.getTime() / 60_000) * 60_000).toISOString();
      const claimed = await this.redis.set(`periodic-sync:${slot}`, '1', 'EX', TICK_CLAIM_SECONDS, 'NX');
      this.metrics.record('sync_tick', claimed !== 'OK');
      if (claimed !== 'OK') return { state: 'skipped', reason: `tick ${slot} was served already` };
      return this.enqueueDueAccounts();
    });
  }

  private async enqueueDueAccounts(): Promise<PeriodicSyncResult> {
    let accounts = 0;
    const { tenants } = await this.sweep.eachTenant(
      this.logger,
      'Could not enqueue the periodic sync of a tenant',
      async (tenantId) => {
        const due = await this.accounts.listIdsDueForSync();
        for (const accountId of due) {
          await this.producer.enqueue(JobName.SyncAccount, { tenantId, accountId, trigger: 'schedule' });
        }
        await this.accounts.markSyncQueued(due);
        accounts += due.length;
      },
    );
    return { state: 'enqueued', tenants, accounts };
  }
}
