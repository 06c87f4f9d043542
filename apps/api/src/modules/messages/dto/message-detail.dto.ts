import { ApiProperty } from '@nestjs/swagger';

import { MessageActionErrorDto } from './message-actions.dto.js';
import { MailAddressDto, MessageSummaryDto } from './message-summary.dto.js';

export class AttachmentDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ type: String, nullable: true })
  filename!: string | null;

  @ApiProperty({ example: 'application/pdf' })
  contentType!: string;

  @ApiProperty({ description: 'Bytes' })
  size!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Content-ID without brackets; `cid:` URLs in the HTML refer to it',
  })
  contentId!: string | null;

  @ApiProperty({ description: 'Shown inside the body rather than listed' })
  inline!: boolean;
}

export class ListUnsubscribeDto {
  @ApiProperty({ type: String, nullable: true, example: 'mailto:leave@lists.example.com?subject=unsubscribe' })
  mailto!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'https://lists.example.com/unsubscribe?id=42' })
  url!: string | null;

  @ApiProperty({ description: 'The list takes a one-click POST to `url` (RFC 8058), no page to visit' })
  oneClick!: boolean;
}

export class AuthenticationResultsDto {
  @ApiProperty({ description: 'The server that checked', example: 'mx.example.net' })
  authservId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'pass',
    description: 'pass, fail, softfail, neutral, none, temperror, permerror; null when not checked',
  })
  spf!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'pass', description: 'pass when any signature passed' })
  dkim!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'pass' })
  dmarc!: string | null;
}

export class MessageDetailDto extends MessageSummaryDto {
  @ApiProperty({ type: [MailAddressDto] })
  bcc!: MailAddressDto[];

  @ApiProperty({ type: [MailAddressDto] })
  replyTo!: MailAddressDto[];

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'The Date header, as the sender claimed it',
  })
  sentAt!: string | null;

  @ApiProperty({ type: String, nullable: true })
  inReplyTo!: string | null;

  @ApiProperty({ type: [String] })
  references!: string[];

  @ApiProperty({ type: String, nullable: true, description: 'Plain-text body' })
  text!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'HTML body made safe to display: no scripts, event handlers, javascript: URLs or remote resources; cid: images kept',
  })
  html!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'Header name (lower case) to value(s)',
  })
  headers!: Record<string, string | string[]> | null;

  @ApiProperty({
    type: () => ListUnsubscribeDto,
    nullable: true,
    description: 'How to leave the mailing list the message came from (List-Unsubscribe), null when it names none',
  })
  listUnsubscribe!: ListUnsubscribeDto | null;

  @ApiProperty({
    type: () => AuthenticationResultsDto,
    nullable: true,
    description:
      'SPF, DKIM and DMARC as the receiving server found them (Authentication-Results); null unless that server is in TRUSTED_AUTHSERV_IDS',
  })
  authentication!: AuthenticationResultsDto | null;

  @ApiProperty({ description: 'RFC 822 size in bytes' })
  size!: number;

  @ApiProperty({ type: [AttachmentDto] })
  attachments!: AttachmentDto[];

  @ApiProperty({
    type: MessageActionErrorDto,
    nullable: true,
    description:
      'The last flag change, move or delete the IMAP server refused; it was undone here. Cleared by the next action',
  })
  actionError!: MessageActionErrorDto | null;
}
