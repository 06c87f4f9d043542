import { AppConfig } from '@app/config';
import { HandlesJobs, JobName, QueueName } from '@app/queue';
import type { ParseMessagePayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';

import { MessageParseService } from '../parse/message-parse.service.js';
import type { MessageParseOutcome } from '../parse/message-parse.service.js';

@HandlesJobs(JobName.ParseMessage)
@Processor(QueueName.Parse)
export class ParseMessageProcessor extends WorkerHost {
  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly messageParse: MessageParseService,
  ) {
    super();
  }

  async process(job: Job<ParseMessagePayload>): Promise<MessageParseOutcome> {
    if (!this.config.features.emailParsing)
      return { state: 'skipped', reason: 'email parsing is disabled (ENABLE_EMAIL_PARSING=false)' };
    return this.tenantContext.run(job.data.tenantId, () => this.messageParse.parse(job.data.messageId));
  }
}
