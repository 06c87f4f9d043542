import { AppConfig } from '@app/config';
import { TenantRepository } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { runExclusively } from './exclusive-run.js';
import { ReconciledKinds } from './reconciled-kinds.js';
import type { KindCounts } from './reconciled-kinds.js';

export const RECONCILE_INTERVAL = 'reconcile-jobs';
/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
export const RECONCILE_LOCK_KEY = 7_316_201_904;

export type ReconcileResult =
  | { state: 'disabled' }
  | { state: 'skipped'; reason: string }
  | { state: 'reconciled'; tenants: number; failedTenants: number; kinds: Record<string, KindCounts> };

/**
 * PostgreSQL is the source of truth, but only a queue job makes a waiting record act: a send
 * queued, a sync run, a message action, a draft copy. When the queue's Redis loses jobs (restarted
 * without persistence, failed over to a lagging replica, evicting), this puts them back. Every
 * RECONCILE_SECONDS it goes tenant by tenant through the records that wait for a job, looks their
 * job up, and enqueues a missing one again with the same job id or deduplication id as the first
 * time, so a job that still exists is not doubled; a job that ended without settling its record is
 * enqueued again or the record settled, as its kind decides (ReconciledKinds). Only enqueues and
 * short PostgreSQL writes happen here; a PostgreSQL advisory lock lets one scheduler replica act.
 */
@Injectable()
export class ReconcileCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReconcileCron.name);
  private running = false;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tenants: TenantRepository,
    private readonly tenantContext: TenantContext,
    private readonly kinds: ReconciledKinds,
  ) {}

  onApplicationBootstrap(): void {
    // The period comes from the validated config, which @Interval() cannot read.
    const timer = setInterval(() => void this.onTick(), this.config.scheduler.reconcileMs);
    this.registry.addInterval(RECONCILE_INTERVAL, timer);
  }

  async onTick(): Promise<void> {
    // A run longer than the period (a large backlog) is not started twice in this replica.
    if (this.running) return;
    this.running = true;
    try {
      const result = await this.run();
      if (result.state === 'reconciled' && Object.values(result.kinds).some((counts) => counts.enqueued + counts.settled > 0)) {
        this.logger.warn(result, 'Re-enqueued or settled records whose queue job was lost');
      }
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Reconciling queue jobs failed');
    } finally {
      this.running = false;
    }
  }

  async run(): Promise<ReconcileResult> {
    if (!this.config.features.backgroundJobs) return { state: 'disabled' };
    return runExclusively(this.dataSource, RECONCILE_LOCK_KEY, () => this.reconcileEveryTenant());
  }

  private async reconcileEveryTenant(): Promise<ReconcileResult> {
    const kinds: Record<string, KindCounts> = Object.fromEntries(this.kinds.all.map((kind) => [kind.name, { enqueued: 0, settled: 0 }]));
    let failedTenants = 0;
    const tenantIds = await this.tenants.listIds();
    for (const tenantId of tenantIds) {
      let failed = false;
      for (const kind of this.kinds.all) {
        try {
          const counts = await this.tenantContext.run(tenantId, () => kind.reconcile(tenantId));
          const total = kinds[kind.name] ?? { enqueued: 0, settled: 0 };
          kinds[kind.name] = { enqueued: total.enqueued + counts.enqueued, settled: total.settled + counts.settled };
        } catch (error: unknown) {
          // One tenant's failure (or one kind's) must not leave the others' records stranded.
          failed = true;
          this.logger.error({ err: error, tenantId, kind: kind.name }, 'Could not reconcile the queue jobs of a tenant');
        }
      }
      if (failed) failedTenants += 1;
    }
    return { state: 'reconciled', tenants: tenantIds.length, failedTenants, kinds };
  }
}
