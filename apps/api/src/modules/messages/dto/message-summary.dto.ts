import type { MessageSummaryRow } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

export class MailAddressDto {
  @ApiProperty({ example: 'Alice Smith' })
  name!: string;

  @ApiProperty({ example: 'alice@example.com' })
  address!: string;
}

export class MessageSummaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ description: 'Path of the folder holding this copy', example: 'INBOX' })
  folder!: string;

  @ApiProperty({ type: String, nullable: true })
  subject!: string | null;

  @ApiProperty({ type: MailAddressDto, nullable: true })
  from!: MailAddressDto | null;

  @ApiProperty({ type: [MailAddressDto] })
  to!: MailAddressDto[];

  @ApiProperty({ type: [MailAddressDto] })
  cc!: MailAddressDto[];

  @ApiProperty({
    format: 'date-time',
    description: 'When the server received it (IMAP INTERNALDATE); lists are ordered by it',
  })
  date!: string;

  @ApiProperty({ type: [String], example: ['\\Seen'] })
  flags!: string[];

  @ApiProperty({ type: String, nullable: true })
  snippet!: string | null;

  @ApiProperty()
  hasAttachments!: boolean;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  threadId!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The Message-ID header', example: '<abc@example.com>' })
  messageId!: string | null;

  static from(row: MessageSummaryRow): MessageSummaryDto {
    return {
      id: row.id,
      accountId: row.accountId,
      folder: row.folderPath,
      subject: row.subject,
      from:
        row.fromAddress === null && row.fromName === null
          ? null
          : { name: row.fromName ?? '', address: row.fromAddress ?? '' },
      to: row.to,
      cc: row.cc,
      date: row.receivedAt.toISOString(),
      flags: row.flags,
      snippet: row.snippet,
      hasAttachments: row.hasAttachments,
      threadId: row.threadId,
      messageId: row.messageId,
    };
  }
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageSummaryDto] })
  items!: MessageSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page',
  })
  nextCursor!: string | null;
}
