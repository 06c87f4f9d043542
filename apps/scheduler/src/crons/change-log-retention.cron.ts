import { AppConfig } from '@app/config';
import { ChangeLogRepository, WebhookDeliveryRepository } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';

import { TenantSweep } from './tenant-sweep.js';

/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
export const CHANGE_LOG_RETENTION_LOCK_KEY = 7_316_201_903;

const DAY_MS = 86_400_000;

export type ChangeLogRetentionResult =
  { state: 'skipped'; reason: string } | { state: 'pruned'; tenants: number; changes: number; deliveries: number };

/**
 * Deletes changes older than CHANGES_RETENTION_DAYS, tenant by tenant, and records per account
 * how far the log is gone so an older cursor is answered 410 instead of silently missing changes.
 * Settled webhook deliveries, the log's history at each endpoint, go after the same time.
 */
@Injectable()
export class ChangeLogRetentionCron {
  private readonly logger = new Logger(ChangeLogRetentionCron.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sweep: TenantSweep,
    private readonly changeLog: ChangeLogRepository,
    private readonly webhookDeliveries: WebhookDeliveryRepository,
  ) {}

  @Cron('47 * * * *', { name: 'change-log-retention' })
  async onTick(): Promise<void> {
    try {
      const result = await this.run();
      if (result.state === 'pruned' && result.changes + result.deliveries > 0)
        this.logger.log(result, 'Pruned the change log and settled webhook deliveries');
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Change log retention failed');
    }
  }

  async run(now = Date.now()): Promise<ChangeLogRetentionResult> {
    const before = new Date(now - this.config.scheduler.changesRetentionDays * DAY_MS);
    return this.sweep.exclusively(CHANGE_LOG_RETENTION_LOCK_KEY, async (): Promise<ChangeLogRetentionResult> => {
      let changes = 0;
      let deliveries = 0;
      const { tenants } = await this.sweep.eachTenant(
        this.logger,
        'Could not prune the change log of a tenant',
        async () => {
          changes += await this.changeLog.pruneBefore(before);
          deliveries += await this.webhookDeliveries.pruneSettledBefore(before);
        },
      );
      return { state: 'pruned', tenants, changes, deliveries };
    });
  }
}
