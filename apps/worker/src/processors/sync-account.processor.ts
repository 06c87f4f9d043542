import { AppConfig } from '@app/config';
import { JobMetrics } from '@app/observability';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { SyncAccountPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { Job } from 'bullmq';

import { AccountSyncService } from '../sync/account-sync.service.js';
import type { AccountSyncOutcome } from '../sync/account-sync.service.js';

const INTERRUPTED_SYNC_RETRY_MS = 5_000;
/** A push found the account busy: most often a sync that may already have passed the folder, so it comes back soon. */
const BUSY_PUSH_RETRY_MS = 2_000;

@HandlesJobs(JobName.SyncAccount)
@Processor(QueueName.Sync)
export class SyncAccountProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly accountSync: AccountSyncService,
    private readonly metrics: JobMetrics,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // @Processor options are fixed at decoration time; the validated config is only known now.
    this.worker.concurrency = this.config.worker.syncConcurrency;
  }

  async process(job: Job<SyncAccountPayload>, token?: string): Promise<AccountSyncOutcome> {
    if (!this.config.features.imapSync)
      return { state: 'skipped', reason: 'IMAP sync is disabled (ENABLE_IMAP_SYNC=false)' };
    const startedAt = performance.now();
    const outcome = await this.tenantContext.run(job.data.tenantId, () =>
      this.accountSync.run(job.data, job.id ?? null),
    );
    if (outcome.state === 'succeeded' || outcome.state === 'failed')
      this.metrics.syncEnded(outcome.state, (performance.now() - startedAt) / 1000);
    if (outcome.state === 'busy') {
      // Another job syncs this account (a stalled job handed over while the first still runs, or a
      // push arriving during another sync): come back once a dead holder's lease would have
      // expired, instead of running twice or burning an attempt. A push comes back sooner, so the
      // mail it announced does not wait for the lease's whole TTL behind a sync that just ended.
      const delayMs = job.data.trigger === 'push' ? BUSY_PUSH_RETRY_MS : this.config.worker.jobLockMs;
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
    if (outcome.state === 'interrupted') {
      // PostgreSQL went away mid-sync; a restart is back within seconds, and a longer outage
      // fails the next attempt's first query, which the job's own backoff then spaces out.
      await job.moveToDelayed(Date.now() + INTERRUPTED_SYNC_RETRY_MS, token);
      throw new DelayedError();
    }
    return outcome;
  }
}
