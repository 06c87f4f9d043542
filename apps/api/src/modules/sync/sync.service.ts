import { AppConfig } from '@app/config';
import { RedisCacheMetrics } from '@app/observability';
import { AccountRepository, FolderRepository, SyncRunRepository, WatchLeaseRepository } from '@app/database';
import type { SyncRun } from '@app/database';
import { AccountNotFoundError } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import type { SyncAccountPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';

import type { SyncAcceptedDto, SyncStatusDto } from './dto/sync-response.dto.js';

export interface SyncRequest {
  folder?: string;
  full?: boolean;
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** Starts syncs (through the queue, never on the request path) and reports their progress. */
@Injectable()
export class SyncService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountRepository,
    private readonly folders: FolderRepository,
    private readonly runs: SyncRunRepository,
    private readonly watches: WatchLeaseRepository,
    private readonly producer: JobProducer,
    private readonly tenantContext: TenantContext,
    private readonly metrics: RedisCacheMetrics,
  ) {}

  async request(accountId: string, request: SyncRequest): Promise<SyncAcceptedDto> {
    if (!this.config.features.imapSync)
      throw new ServiceUnavailableException('IMAP sync is disabled on this deployment (ENABLE_IMAP_SYNC=false)');
    if (!this.config.features.backgroundJobs) {
      throw new ServiceUnavailableException(
        'Background jobs are disabled on this deployment (ENABLE_BACKGROUND_JOBS=false): syncs cannot be queued',
      );
    }
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AccountNotFoundError(accountId);

    const tenantId = this.tenantContext.tenantId;
    const run = await this.runs.create({ accountId, trigger: 'manual', full: request.full ?? false });
    if (account.syncState !== 'running') await this.accounts.update(accountId, { syncState: 'queued' });
    const payload: SyncAccountPayload = { tenantId, accountId, trigger: 'manual', syncRunId: run.id };
    if (request.folder) payload.folder = request.folder;
    if (request.full) payload.full = true;
    const added = await this.producer.enqueue(JobName.SyncAccount, payload).catch(async (error: unknown) => {
      // Nothing will ever run it (the queue Redis is away): a run left queued would be reported
      // as the account's latest for good, hiding the runs that do happen.
      await this.runs.delete(run.id).catch(() => undefined);
      if (account.syncState !== 'running')
        await this.accounts.update(accountId, { syncState: account.syncState }).catch(() => undefined);
      throw error;
    });
    const jobId = added.id ?? '';
    // BullMQ deduplication answers with the id of the job already queued or running for the
    // account, but echoes our payload: the stored job tells which run it really is.
    const existing = await this.producer.queueFor(JobName.SyncAccount).getJob(jobId);
    const existingRunId = (existing?.data as Partial<SyncAccountPayload> | undefined)?.syncRunId;
    const deduplicated = existingRunId !== undefined && existingRunId !== run.id;
    this.metrics.record('sync_dedupe', deduplicated);
    if (deduplicated) {
      await this.runs.delete(run.id);
      return { jobId, syncRunId: existingRunId, created: false };
    }
    await this.runs.setJobId(run.id, jobId);
    return { jobId, syncRunId: run.id, created: true };
  }

  async status(accountId: string): Promise<SyncStatusDto> {
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AccountNotFoundError(accountId);
    const [folders, newestStored, lastRun, watch] = await Promise.all([
      this.folders.listForAccount(accountId),
      this.folders.newestPageStored(accountId),
      this.runs.latestForAccount(accountId),
      this.watches.findStatus(accountId),
    ]);
    return {
      accountId,
      state: account.syncState,
      lastSyncedAt: iso(account.lastSyncedAt),
      lastError: account.lastError
        ? { message: account.lastError, at: iso(account.lastErrorAt) ?? iso(account.updatedAt) ?? '' }
        : null,
      folders: folders.map((folder) => ({
        path: folder.path,
        role: folder.role,
        total: folder.messageCount,
        synced: folder.syncedCount,
        newestComplete: newestStored.has(folder.id),
        uidValidity: folder.uidValidity,
        lastUid: folder.lastUid,
        highestModseq: folder.highestModseq,
        lastSyncedAt: iso(folder.lastSyncedAt),
        lastError: folder.lastError,
        lastErrorAt: iso(folder.lastErrorAt),
        failureCount: folder.failureCount,
        nextSyncAfter: iso(folder.nextSyncAfter),
      })),
      messageCount: folders.reduce((total, folder) => total + folder.syncedCount, 0),
      failureCount: account.failureCount,
      nextSyncAfter: iso(account.nextSyncAfter),
      lastRun: lastRun ? this.describeRun(lastRun) : null,
      watch: watch
        ? {
            state: watch.state,
            since: watch.since.toISOString(),
            lastEventAt: iso(watch.lastEventAt),
            lastError: watch.lastError,
          }
        : null,
    };
  }

  private describeRun(run: SyncRun): SyncStatusDto['lastRun'] {
    return {
      id: run.id,
      state: run.state,
      trigger: run.trigger,
      startedAt: iso(run.startedAt),
      finishedAt: iso(run.finishedAt),
      error: run.error,
      stats: run.stats ? { ...run.stats } : null,
    };
  }
}
