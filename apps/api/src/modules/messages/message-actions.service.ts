import { AppConfig } from '@app/config';
import { MessageActionRepository } from '@app/database';
import type { FlagsRequest, RequestedAction } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { BadRequestException, Injectable, ServiceUnavailableException } from '@nestjs/common';

import { MessageActionAcceptedDto } from './dto/message-actions.dto.js';

/**
 * Flag changes, moves and deletes: applied to the stored message at once, so the next read shows
 * them, and to the IMAP server by a worker job (the API does no mail I/O for them).
 */
@Injectable()
export class MessageActionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly actions: MessageActionRepository,
    private readonly producer: JobProducer,
    private readonly tenantContext: TenantContext,
  ) {}

  async setFlags(messageId: string, request: FlagsRequest): Promise<MessageActionAcceptedDto> {
    if (request.seen === undefined && request.flagged === undefined)
      throw new BadRequestException('give `seen` and/or `flagged`');
    return this.request(() => this.actions.requestFlags(messageId, request));
  }

  async move(messageId: string, folder: string): Promise<MessageActionAcceptedDto> {
    return this.request(() => this.actions.requestMove(messageId, folder));
  }

  async delete(messageId: string): Promise<MessageActionAcceptedDto> {
    return this.request(() => this.actions.requestDelete(messageId));
  }

  private async request(record: () => Promise<RequestedAction>): Promise<MessageActionAcceptedDto> {
    if (!this.config.features.imapSync)
      throw new ServiceUnavailableException('IMAP access is disabled on this deployment (ENABLE_IMAP_SYNC=false)');
    if (!this.config.features.backgroundJobs) {
      throw new ServiceUnavailableException(
        'Background jobs are disabled on this deployment (ENABLE_BACKGROUND_JOBS=false): message changes cannot be applied',
      );
    }
    const requested = await record();
    if (requested.actionId !== null) await this.enqueue(requested, requested.actionId);
    return MessageActionAcceptedDto.from(requested);
  }

  /** A change that cannot be queued would never reach the server: it is undone before answering. */
  private async enqueue(requested: RequestedAction, actionId: string): Promise<void> {
    try {
      await this.producer.enqueue(JobName.ApplyMessageAction, {
        tenantId: this.tenantContext.tenantId,
        accountId: requested.accountId,
        messageId: requested.messageId,
        actionId,
      });
    } catch (error: unknown) {
      await this.actions.revert(actionId, 'the change could not be queued for the IMAP server');
      throw new ServiceUnavailableException('the change could not be queued; it was not applied', { cause: error });
    }
  }
}
