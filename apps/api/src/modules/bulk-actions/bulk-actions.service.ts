import { AppConfig } from '@app/config';
import { BulkActionRepository } from '@app/database';
import type { BulkSelection } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';

import { parseSearchQuery } from '../search/query/search-query.parser.js';
import { BULK_MAX_MESSAGES, BulkActionDto } from './dto/bulk-action.dto.js';
import type { BulkActionRequestDto } from './dto/bulk-action.dto.js';
import { BulkActionNotFoundError, InvalidBulkRequestError } from './errors.js';

/**
 * Flag changes, moves and deletes of many messages at once. Accepting one changes every selected
 * message in PostgreSQL in one transaction, as the single-message actions would, and queues one
 * job that applies them on the IMAP server a UID batch per command; the record counts progress.
 */
@Injectable()
export class BulkActionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly bulks: BulkActionRepository,
    private readonly producer: JobProducer,
    private readonly tenantContext: TenantContext,
  ) {}

  async request(body: BulkActionRequestDto): Promise<BulkActionDto> {
    const selection = selectionOf(body);
    const folder = body.folder ?? undefined;
    if (body.action === 'move' && folder === undefined)
      throw new InvalidBulkRequestError('`move` needs `folder`, the destination');
    if (body.action !== 'move' && folder !== undefined)
      throw new InvalidBulkRequestError('`folder` is only for `move`');
    if (!this.config.features.imapSync)
      throw new ServiceUnavailableException('IMAP access is disabled on this deployment (ENABLE_IMAP_SYNC=false)');
    if (!this.config.features.backgroundJobs) {
      throw new ServiceUnavailableException(
        'Background jobs are disabled on this deployment (ENABLE_BACKGROUND_JOBS=false): message changes cannot be applied',
      );
    }
    const record = await this.bulks.create({
      accountId: body.accountId,
      action: body.action,
      ...(folder === undefined ? {} : { folder }),
      selection,
      maxMessages: BULK_MAX_MESSAGES,
    });
    if (record.state !== 'queued') return BulkActionDto.from(record);
    try {
      await this.producer.enqueue(JobName.ApplyBulkAction, {
        tenantId: this.tenantContext.tenantId,
        accountId: record.accountId,
        bulkActionId: record.id,
      });
    } catch (error: unknown) {
      // Changes that cannot be queued would never reach the server: undone before answering.
      await this.bulks.failRemaining(record.id, 'the change could not be queued for the IMAP server');
      throw new ServiceUnavailableException('the change could not be queued; it was not applied', { cause: error });
    }
    return BulkActionDto.from(record);
  }

  async get(id: string): Promise<BulkActionDto> {
    const record = await this.bulks.findById(id);
    if (!record) throw new BulkActionNotFoundError(id);
    return BulkActionDto.from(record);
  }
}

/** `null` counts as absent, as class-validator's IsOptional lets it through. */
function selectionOf(body: BulkActionRequestDto): BulkSelection {
  const { query, ids } = body;
  if (query != null && ids != null) throw new InvalidBulkRequestError('give either `query` or `ids`, not both');
  if (ids != null) return { ids };
  if (query != null) return { filter: parseSearchQuery(query) };
  throw new InvalidBulkRequestError('give `query` or `ids`: which messages to change');
}
