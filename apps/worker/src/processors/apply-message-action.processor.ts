import { AppConfig } from '@app/config';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { ApplyMessageActionPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { Job } from 'bullmq';

import { MessageActionApplier } from '../actions/message-action-applier.js';
import type { MessageActionOutcome } from '../actions/message-action-applier.js';

/** How long an action waits for an earlier one of the same message to be applied. */
const ORDER_WAIT_MS = 500;

@HandlesJobs(JobName.ApplyMessageAction)
@Processor(QueueName.Actions)
export class ApplyMessageActionProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly applier: MessageActionApplier,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Each action holds one pooled connection briefly; the pool's cap is the real limit.
    this.worker.concurrency = this.config.mail.imapPoolSize;
  }

  async process(job: Job<ApplyMessageActionPayload>, token?: string): Promise<MessageActionOutcome> {
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const outcome = await this.tenantContext.run(job.data.tenantId, () =>
      this.applier.apply(job.data.actionId, finalAttempt),
    );
    if (outcome.state === 'waiting') {
      // Not a failure: the earlier action of this message goes first, and no attempt is spent.
      await job.moveToDelayed(Date.now() + ORDER_WAIT_MS, token);
      throw new DelayedError();
    }
    return outcome;
  }
}
