import { AppConfig } from '@app/config';
import { MessageReadRepository } from '@app/database';
import type { MessageListCriteria, MessageSummaryRow, Page } from '@app/database';
import { authenticationResults, listUnsubscribe } from '@app/mail';
import { Injectable } from '@nestjs/common';

import type { MessageDetailDto } from './dto/message-detail.dto.js';
import { MessageSummaryDto } from './dto/message-summary.dto.js';
import { MessageNotFoundError } from './errors.js';
import type { MessagePageDto } from './dto/message-summary.dto.js';
import { sanitizeMailHtml } from './html-sanitizer.js';

@Injectable()
export class MessagesService {
  private readonly trustedAuthservIds: ReadonlySet<string>;

  constructor(
    config: AppConfig,
    private readonly messages: MessageReadRepository,
  ) {
    this.trustedAuthservIds = new Set(config.mail.trustedAuthservIds);
  }

  /** Lists and searches share this: newest first, keyset cursors, 400 for a bad cursor, 404 for an unknown account or folder. */
  async list(criteria: MessageListCriteria, limit: number, cursor?: string): Promise<MessagePageDto> {
    return toPage(await this.messages.list(criteria, limit, cursor));
  }

  async get(id: string): Promise<MessageDetailDto> {
    const row = await this.messages.findById(id);
    if (!row) throw new MessageNotFoundError(id);
    return {
      ...MessageSummaryDto.from(row),
      bcc: row.bcc,
      replyTo: row.replyTo,
      sentAt: row.sentAt?.toISOString() ?? null,
      inReplyTo: row.inReplyTo,
      references: row.references,
      text: row.textBody,
      html: row.htmlBody === null ? null : sanitizeMailHtml(row.htmlBody),
      headers: row.headers,
      size: row.size,
      attachments: row.attachments,
      actionError: row.actionError,
      listUnsubscribe: row.headers ? listUnsubscribe(row.headers) : null,
      authentication: row.headers
        ? authenticationResults(row.headers, (authservId) => this.trustedAuthservIds.has(authservId))
        : null,
    };
  }
}

function toPage(page: Page<MessageSummaryRow>): MessagePageDto {
  return { items: page.items.map((row) => MessageSummaryDto.from(row)), nextCursor: page.nextCursor };
}
