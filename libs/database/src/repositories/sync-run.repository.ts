import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';

import { SyncRun } from '../entities/sync-run.entity.js';
import type { SyncRunStats, SyncTrigger } from '../entities/sync-run.entity.js';

export interface NewSyncRun {
  accountId: string;
  trigger: SyncTrigger;
  full: boolean;
  jobId?: string | null;
}

/** Sync runs of the current tenant: one row per execution of the sync job for an account. */
@Injectable()
export class SyncRunRepository {
  constructor(private readonly scope: TenantScope) {}

  async create(values: NewSyncRun): Promise<SyncRun> {
    return this.scope.transaction((manager, tenantId) =>
      manager.save(
        SyncRun,
        manager.create(SyncRun, { ...values, jobId: values.jobId ?? null, tenantId, state: 'queued' }),
      ),
    );
  }

  async findById(id: string): Promise<SyncRun | null> {
    return this.scope.transaction((manager, tenantId) => manager.findOneBy(SyncRun, { id, tenantId }));
  }

  async latestForAccount(accountId: string): Promise<SyncRun | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager.findOne(SyncRun, { where: { tenantId, accountId }, order: { createdAt: 'DESC' } }),
    );
  }

  async setJobId(id: string, jobId: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) => manager.update(SyncRun, { id, tenantId }, { jobId }));
  }

  async markRunning(id: string, jobId: string | null): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(
        SyncRun,
        { id, tenantId },
        { state: 'running', startedAt: new Date(), finishedAt: null, error: null, ...(jobId ? { jobId } : {}) },
      ),
    );
  }

  async finish(id: string, state: 'succeeded' | 'failed', stats: SyncRunStats, error: string | null): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(SyncRun, { id, tenantId }, { state, stats, error, finishedAt: new Date() }),
    );
  }

  /** Runs left queued or running by a worker that died: closed as failed when their account's next run starts. */
  async failUnfinished(accountId: string, exceptId: string, reason: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager
        .createQueryBuilder()
        .update(SyncRun)
        .set({ state: 'failed', error: reason, finishedAt: new Date() })
        .where({ tenantId, accountId, state: In(['queued', 'running']) })
        .andWhere('id <> :exceptId', { exceptId })
        .execute(),
    );
  }

  /** The current tenant's runs not finished yet, oldest first: each waits for a sync job. */
  async findUnfinished(): Promise<SyncRun[]> {
    return this.scope.transaction((manager, tenantId) =>
      manager.find(SyncRun, { where: { tenantId, state: In(['queued', 'running']) }, order: { createdAt: 'ASC' } }),
    );
  }

  /** Closes a run as failed unless it finished meanwhile. */
  async failIfUnfinished(id: string, reason: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(
        SyncRun,
        { id, tenantId, state: In(['queued', 'running']) },
        { state: 'failed', error: reason, finishedAt: new Date() },
      ),
    );
  }

  async delete(id: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) => manager.delete(SyncRun, { id, tenantId }));
  }
}
