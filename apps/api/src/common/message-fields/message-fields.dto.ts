import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBase64,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  ValidateNested,
} from 'class-validator';

import { IsRecipientList } from './recipients.js';

export const NO_LINE_BREAKS = /^[^\r\n]*$/;
/** RFC 5322 §3.6.4 msg-id: `<left@right>`, no whitespace. */
const MESSAGE_ID = /^<[^\s<>@]+@[^\s<>@]+>$/;
export const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

export const MAX_RECIPIENTS_PER_FIELD = 500;
export const MAX_ATTACHMENTS = 50;

const RECIPIENTS_SCHEMA: ApiPropertyOptions = {
  type: 'array',
  items: {
    oneOf: [
      { type: 'string', example: 'Bob Example <bob@example.com>' },
      {
        type: 'object',
        properties: { name: { type: 'string' }, address: { type: 'string', format: 'email' } },
        required: ['address'],
      },
    ],
  },
};

export class AttachmentUploadDto {
  @ApiProperty({ example: 'report.pdf' })
  @IsString()
  @Length(1, 255)
  @Matches(NO_LINE_BREAKS, { message: 'filename must not contain line breaks' })
  filename!: string;

  @ApiProperty({ example: 'application/pdf' })
  @IsString()
  @Length(3, 255)
  @Matches(MIME_TYPE, { message: 'contentType must be a MIME type such as application/pdf' })
  contentType!: string;

  @ApiProperty({ description: 'The bytes, base64-encoded' })
  @IsString()
  @IsBase64({}, { message: 'content must be base64' })
  content!: string;
}

/** The fields a message and a draft share. */
export class MessageFieldsDto {
  @ApiPropertyOptional(RECIPIENTS_SCHEMA)
  @IsOptional()
  @IsRecipientList(MAX_RECIPIENTS_PER_FIELD)
  to?: unknown[];

  @ApiPropertyOptional(RECIPIENTS_SCHEMA)
  @IsOptional()
  @IsRecipientList(MAX_RECIPIENTS_PER_FIELD)
  cc?: unknown[];

  @ApiPropertyOptional(RECIPIENTS_SCHEMA)
  @IsOptional()
  @IsRecipientList(MAX_RECIPIENTS_PER_FIELD)
  bcc?: unknown[];

  @ApiPropertyOptional({ example: 'Quarterly report' })
  @IsOptional()
  @IsString()
  @Length(0, 998)
  @Matches(NO_LINE_BREAKS, { message: 'subject must not contain line breaks' })
  subject?: string;

  @ApiPropertyOptional({ description: 'Plain-text body' })
  @IsOptional()
  @IsString()
  text?: string;

  @ApiPropertyOptional({ description: 'HTML body' })
  @IsOptional()
  @IsString()
  html?: string;

  @ApiPropertyOptional({
    type: [AttachmentUploadDto],
    description: 'Attachments sent inline, base64-encoded; for larger files use attachmentIds',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ATTACHMENTS)
  // ValidateNested alone takes a list inside the list for a list of attachments, and an empty one passes.
  @IsObject({ each: true, message: 'each of attachments must be an object with filename, contentType and content' })
  @ValidateNested({ each: true })
  @Type(() => AttachmentUploadDto)
  attachments?: AttachmentUploadDto[];

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description:
      'Attachments stored before, by id: files from POST /api/compose/attachments (multipart) for the same account, or the attachments of a draft of it (a draft update keeps only those listed here). They follow the inline attachments in the message.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ATTACHMENTS)
  @ArrayUnique()
  @IsUUID(undefined, { each: true })
  attachmentIds?: string[];

  @ApiPropertyOptional({ example: '<original@example.com>', description: 'Message-ID of the message being replied to' })
  @IsOptional()
  @IsString()
  @Length(3, 998)
  @Matches(MESSAGE_ID, { message: 'inReplyTo must be a Message-ID such as <id@example.com>' })
  inReplyTo?: string;

  @ApiPropertyOptional({ type: [String], description: 'Message-IDs of the thread; defaults to inReplyTo' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Matches(MESSAGE_ID, { each: true, message: 'references must be Message-IDs such as <id@example.com>' })
  references?: string[];
}
