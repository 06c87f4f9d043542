import { AppConfig } from '@app/config';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { DeliverWebhookPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { Job } from 'bullmq';

import { WebhookDeliveryService } from '../webhooks/webhook-delivery.service.js';
import type { WebhookDeliveryOutcome } from '../webhooks/webhook-delivery.service.js';

/**
 * The webhooks queue: one attempt at one delivery per job run. A failed attempt reschedules the
 * same job (moveToDelayed) for the retry the delivery row names, without using up a BullMQ
 * attempt; those only retry the database or Redis failing under the job.
 */
@HandlesJobs(JobName.DeliverWebhook)
@Processor(QueueName.Webhooks)
export class DeliverWebhookProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly deliveries: WebhookDeliveryService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.webhooks.concurrency;
  }

  async process(job: Job<DeliverWebhookPayload>, token?: string): Promise<WebhookDeliveryOutcome> {
    const { tenantId, webhookId, accountId, deliveryId } = job.data;
    const outcome = await this.tenantContext.run(tenantId, () =>
      this.deliveries.deliver(webhookId, accountId, deliveryId),
    );
    if (outcome.state !== 'retry') return outcome;
    await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    throw new DelayedError();
  }
}
