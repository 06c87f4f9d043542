import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { ApplyBulkActionPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { DelayedError } from 'bullmq';
import type { Job } from 'bullmq';

import { BulkActionApplier } from '../actions/bulk-action-applier.js';
import type { BulkActionOutcome } from '../actions/bulk-action-applier.js';

/** How long a bulk action waits for earlier actions of its remaining members to be applied. */
const ORDER_WAIT_MS = 500;

/**
 * Bulk actions, one job each. A job holds one pooled IMAP connection per batch, one batch after
 * another; the queue's default concurrency of one per worker leaves the pool to single actions.
 */
@HandlesJobs(JobName.ApplyBulkAction)
@Processor(QueueName.BulkActions)
export class ApplyBulkActionProcessor extends WorkerHost {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly applier: BulkActionApplier,
  ) {
    super();
  }

  async process(job: Job<ApplyBulkActionPayload>, token?: string): Promise<BulkActionOutcome> {
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const outcome = await this.tenantContext.run(job.data.tenantId, () =>
      this.applier.apply(job.data.bulkActionId, finalAttempt),
    );
    if (outcome.state === 'waiting') {
      await job.moveToDelayed(Date.now() + ORDER_WAIT_MS, token);
      throw new DelayedError();
    }
    return outcome;
  }
}
