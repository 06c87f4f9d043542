import { AppConfig } from '@app/config';
import { JobMetrics } from '@app/observability';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { SendEmailPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Job } from 'bullmq';

import { SendEmailService } from '../send/send-email.service.js';
import type { SendOutcome } from '../send/send-email.service.js';

/** How long a send waits while ENABLE_SMTP_SEND=false on this worker before it looks again. */
const DISABLED_RECHECK_MS = 60_000;

type SendJob = Job<SendEmailPayload, unknown, JobName.SendEmail>;

/**
 * A job that names no send record (a payload of another shape, e.g. one queued by an older
 * release) must not run: an undefined id would match any record. It fails for good, and
 * reconciliation queues the record it was for again under the same job id.
 */
function sendRecordIdOf(payload: SendEmailPayload): string {
  const id = (payload as Partial<SendEmailPayload>).sendRecordId;
  if (!id) throw new UnrecoverableError('the send job names no send record');
  return id;
}

/**
 * The send queue: one send record through its state machine per job, SEND_CONCURRENCY at once.
 *
 * A transient SMTP failure reschedules the same job (moveToDelayed) after the delay the send
 * state machine chose, which does not use up a BullMQ attempt; BullMQ's own attempts only retry
 * unexpected errors (database, Redis, IMAP while filing the Sent copy). A permanent failure ends
 * the job as failed without retries.
 */
@HandlesJobs(JobName.SendEmail)
@Processor(QueueName.Send)
export class SendEmailProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly sender: SendEmailService,
    private readonly metrics: JobMetrics,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // @Processor options are fixed at decoration time; the validated config is only known now.
    this.worker.concurrency = this.config.worker.sendConcurrency;
  }

  async process(job: SendJob, token?: string): Promise<SendOutcome> {
    const payload = job.data;
    if (!this.config.features.smtpSend) return this.later(job, DISABLED_RECHECK_MS, token);
    let outcome: SendOutcome;
    try {
      outcome = await this.tenantContext.run(payload.tenantId, () => this.sender.send(sendRecordIdOf(payload)));
    } catch (error: unknown) {
      // An unexpected error is retried by BullMQ; the message is given up only with the last attempt.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) this.metrics.emailProcessed('failed');
      throw error;
    }
    switch (outcome.state) {
      case 'retry':
        return this.later(job, outcome.delayMs, token);
      case 'failed':
        this.metrics.emailProcessed('failed');
        throw new UnrecoverableError(outcome.reason);
      case 'sent':
        this.metrics.emailProcessed('sent');
        return outcome;
      case 'cancelled':
      case 'missing':
        return outcome;
    }
  }

  private async later(job: SendJob, delayMs: number, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  }
}
