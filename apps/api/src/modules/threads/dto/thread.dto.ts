import type { ThreadSummaryRow } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

import { PageQueryDto } from '../../../common/dto/page-query.dto.js';
import { MailAddressDto, MessageSummaryDto } from '../../messages/dto/message-summary.dto.js';

export class ListThreadsQueryDto extends PageQueryDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  accountId!: string;
}

export class ThreadSummaryDto {
  @ApiProperty({
    format: 'uuid',
    description: 'Thread id; a message not threaded yet is its own thread, keyed by its id',
  })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Subject of the latest message' })
  subject!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Snippet of the latest message' })
  snippet!: string | null;

  @ApiProperty({ type: [MailAddressDto], description: 'Distinct senders' })
  participants!: MailAddressDto[];

  @ApiProperty()
  messageCount!: number;

  @ApiProperty()
  unreadCount!: number;

  @ApiProperty()
  hasAttachments!: boolean;

  @ApiProperty({ format: 'date-time', description: 'When the latest message was received' })
  date!: string;

  @ApiProperty({ format: 'uuid' })
  latestMessageId!: string;

  static from(row: ThreadSummaryRow): ThreadSummaryDto {
    return {
      id: row.threadId,
      accountId: row.accountId,
      subject: row.subject,
      snippet: row.snippet,
      participants: row.participants,
      messageCount: row.messageCount,
      unreadCount: row.unreadCount,
      hasAttachments: row.hasAttachments,
      date: new Date(row.lastReceivedAt).toISOString(),
      latestMessageId: row.latestMessageId,
    };
  }
}

export class ThreadPageDto {
  @ApiProperty({ type: [ThreadSummaryDto] })
  items!: ThreadSummaryDto[];

  @ApiPropertyOptional({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class ThreadDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ type: [MessageSummaryDto], description: 'Oldest first, across folders' })
  messages!: MessageSummaryDto[];
}
