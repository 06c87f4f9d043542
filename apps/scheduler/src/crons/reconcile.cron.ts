import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

import { ReconciledKinds } from './reconciled-kinds.js';
import type { KindCounts } from './reconciled-kinds.js';
import { TenantSweep } from './tenant-sweep.js';

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
    private readonly sweep: TenantSweep,
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
      if (
        result.state === 'reconciled' &&
        Object.values(result.kinds).some((counts) => counts.enqueued + counts.settled > 0)
      ) {
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
    return this.sweep.exclusively(RECONCILE_LOCK_KEY, () => this.reconcileEveryTenant());
  }

  /** Kind by kind, so that one kind failing for a tenant leaves its other kinds reconciled. */
  private async reconcileEveryTenant(): Promise<ReconcileResult> {
    const kinds: Record<string, KindCounts> = {};
    const failed = new Set<string>();
    let tenants = 0;
    for (const kind of this.kinds.all) {
      const counts: KindCounts = { enqueued: 0, settled: 0 };
      const outcome = await this.sweep.eachTenant(
        this.logger,
        `Could not reconcile the ${kind.name} of a tenant`,
        async (tenantId) => {
          const reconciled = await kind.reconcile(tenantId);
          counts.enqueued += reconciled.enqueued;
          counts.settled += reconciled.settled;
        },
      );
      kinds[kind.name] = counts;
      tenants = outcome.tenants;
      for (const tenantId of outcome.failedTenantIds) failed.add(tenantId);
    }
    return { state: 'reconciled', tenants, failedTenants: failed.size, kinds };
  }
}
