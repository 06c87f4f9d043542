import { AppConfig } from '@app/config';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { SyncDraftPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';

import { DraftMailboxService } from '../drafts/draft-mailbox.service.js';
import type { DraftMirrorOutcome } from '../drafts/draft-mailbox.service.js';

/** The drafts queue: each job brings the account's IMAP Drafts folder in step with one draft. */
@HandlesJobs(JobName.SyncDraft)
@Processor(QueueName.Drafts)
export class SyncDraftProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly draftMailbox: DraftMailboxService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // A draft copy talks to the account's server as a send does; SEND_CONCURRENCY bounds both queues.
    this.worker.concurrency = this.config.worker.sendConcurrency;
  }

  async process(job: Job<SyncDraftPayload>): Promise<DraftMirrorOutcome> {
    const { tenantId, accountId, draftId } = job.data;
    return this.tenantContext.run(tenantId, () => this.draftMailbox.mirror(accountId, draftId));
  }
}
