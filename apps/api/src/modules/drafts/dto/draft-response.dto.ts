import type { Draft, MailAddress } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

import { StoredAttachmentDto } from '../../../common/message-fields/stored-attachment.dto.js';

export class MailAddressDto {
  @ApiProperty() name!: string;
  @ApiProperty() address!: string;
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
