import { SEND_STATES } from '@app/database';
import type { Draft, MailAddress, SendRecord, SendState, StoredAttachmentRef } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

export class MailAddressDto {
  @ApiProperty() name!: string;
  @ApiProperty() address!: string;
}

/** SPEC §8 send record. */
export class SendRecordDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: SEND_STATES }) state!: SendState;
  @ApiProperty({ description: 'SMTP attempts made so far' }) attempts!: number;
  @ApiProperty({ example: '<0f8c…@example.com>' }) messageId!: string;
  @ApiProperty({ nullable: true, type: String, description: "The server's last reply, or why the send failed" }) lastResponse!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) sentAt!: string | null;

  static from(record: SendRecord): SendRecordDto {
    return {
      id: record.id,
      state: record.state,
      attempts: record.attempts,
      messageId: record.messageId,
      lastResponse: record.lastResponse,
      createdAt: record.createdAt.toISOString(),
      sentAt: record.sentAt?.toISOString() ?? null,
    };
  }
}

/** An attachment stored for a draft or an upload; its id goes into attachmentIds. */
export class StoredAttachmentDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() filename!: string;
  @ApiProperty() contentType!: string;
  @ApiProperty({ description: 'Bytes' }) size!: number;

  static from(attachment: StoredAttachmentRef): StoredAttachmentDto {
    return { id: attachment.storageKey, filename: attachment.filename, contentType: attachment.contentType, size: attachment.size };
  }
}

export class DraftDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty({ description: 'Send it back with the next PUT' }) version!: number;
  @ApiProperty({ type: [MailAddressDto] }) to!: MailAddress[];
  @ApiProperty({ type: [MailAddressDto] }) cc!: MailAddress[];
  @ApiProperty({ type: [MailAddressDto] }) bcc!: MailAddress[];
  @ApiProperty() subject!: string;
  @ApiProperty({ nullable: true, type: String }) text!: string | null;
  @ApiProperty({ nullable: true, type: String }) html!: string | null;
  @ApiProperty({ nullable: true, type: String }) inReplyTo!: string | null;
  @ApiProperty({ type: [String] }) references!: string[];
  @ApiProperty({ type: [StoredAttachmentDto] }) attachments!: StoredAttachmentDto[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static from(draft: Draft): DraftDto {
    return {
      id: draft.id,
      accountId: draft.accountId,
      version: draft.version,
      to: draft.to,
      cc: draft.cc,
      bcc: draft.bcc,
      subject: draft.subject,
      text: draft.textBody,
      html: draft.htmlBody,
      inReplyTo: draft.inReplyTo,
      references: draft.references,
      attachments: draft.attachments.map((attachment) => StoredAttachmentDto.from(attachment)),
      createdAt: draft.createdAt.toISOString(),
      updatedAt: draft.updatedAt.toISOString(),
    };
  }
}

export class DraftPageDto {
  @ApiProperty({ type: [DraftDto] }) items!: DraftDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
