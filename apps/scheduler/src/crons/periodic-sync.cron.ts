import { AppConfig } from '@app/config';
import { MailAccount, TenantRepository } from '@app/database';
import { RedisCacheMetrics } from '@app/observability';
import { InjectRedis } from '@app/redis';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext, TenantScope } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { CronJob } from 'cron';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { runExclusively } from './exclusive-run.js';

export const PERIODIC_SYNC_JOB = 'periodic-sync';
/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
const ADVISORY_LOCK_KEY = 7_316_201_901;
/** A tick is claimed for this long, longer than any clock skew between scheduler replicas. */
const TICK_CLAIM_SECONDS = 3600;

export type PeriodicSyncResult = { state: 'disabled' } | { state: 'skipped'; reason: string } | { state: 'enqueued'; tenants: number; accounts: number };

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
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRedis() private readonly redis: Redis,
    private readonly tenants: TenantRepository,
    private readonly tenantContext: TenantContext,
    private readonly scope: TenantScope,
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
    return runExclusively(this.dataSource, ADVISORY_LOCK_KEY, async () => {
      const slot = new Date(Math.floor(tick.getTime() / 60_000) * 60_000).toISOString();
      const claimed = await this.redis.set(`periodic-sync:${slot}`, '1', 'EX', TICK_CLAIM_SECONDS, 'NX');
      this.metrics.record('sync_tick', claimed !== 'OK');
      if (claimed !== 'OK') return { state: 'skipped', reason: `tick ${slot} was served already` };
      return this.enqueueDueAccounts();
    });
  }

  private async enqueueDueAccounts(): Promise<PeriodicSyncResult> {
    let accounts = 0;
    const tenantIds = await this.tenants.listIds();
    for (const tenantId of tenantIds) {
      try {
        accounts += await this.tenantContext.run(tenantId, () => this.enqueueForTenant(tenantId));
      } catch (error: unknown) {
        // One tenant's failure must not starve the others of their sync.
        this.logger.error({ err: error, tenantId }, 'Could not enqueue the periodic sync of a tenant');
      }
    }
    return { state: 'enqueued', tenants: tenantIds.length, accounts };
  }

  private async enqueueForTenant(tenantId: string): Promise<number> {
    const due = await this.scope.transaction((manager) =>
      manager
        .getRepository(MailAccount)
        .createQueryBuilder('account')
        .select(['account.id'])
        .where('account.tenantId = :tenantId AND account.active = true', { tenantId })
        .andWhere('(account.nextSyncAfter IS NULL OR account.nextSyncAfter <= now())')
        .getMany(),
    );
    for (const account of due) {
      await this.producer.enqueue(JobName.SyncAccount, { tenantId, accountId: account.id, trigger: 'schedule' });
    }
    if (due.length > 0) {
      await this.scope.transaction((manager) =>
        manager
          .createQueryBuilder()
          .update(MailAccount)
          .set({ syncState: 'queued' })
          .where('tenant_id = :tenantId AND id IN (:...ids) AND sync_state IN (:...states)', { tenantId, ids: due.map((account) => account.id), states: ['idle', 'failed'] })
          .execute(),
      );
    }
    return due.length;
  }
}
