import { BULK_ACTION_KINDS, BULK_ACTION_STATES } from '@app/database';
import type { BulkAction, BulkActionKind, BulkActionState } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';

/** Messages one bulk request may change, by ids or by query. */
export const BULK_MAX_MESSAGES = 10_000;

export class BulkActionRequestDto {
  @ApiProperty({ format: 'uuid', description: 'The account whose messages are changed' })
  @IsUUID()
  accountId!: string;

  @ApiPropertyOptional({
    description:
      'The messages to change, in the query language of GET /api/sync/search (e.g. `in:inbox is:unread before:2024-01-01`); ' +
      'the set is fixed when the request is accepted. Give either `query` or `ids`.',
    example: 'in:inbox is:unread',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  query?: string;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    maxItems: BULK_MAX_MESSAGES,
    description: 'The messages to change, by id. Give either `query` or `ids`.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BULK_MAX_MESSAGES)
  @IsUUID(undefined, { each: true })
  ids?: string[];

  @ApiProperty({
    enum: BULK_ACTION_KINDS,
    example: 'move',
    description:
      'seen/unseen: \\Seen; flag/unflag: \\Flagged; move: to `folder`; delete: to Trash, or expunged when in Trash',
  })
  @IsIn(BULK_ACTION_KINDS)
  action!: BulkActionKind;

  @ApiPropertyOptional({
    description:
      'Destination of `move` (required there, refused otherwise): a folder id, path or special-use role of the account',
    example: 'Archive',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  folder?: string;
}

export class BulkActionFailureDto {
  @ApiProperty({ format: 'uuid' })
  messageId!: string;

  @ApiProperty({ example: 'the IMAP server refused to move the messages to Archive: Mailbox does not exist' })
  reason!: string;
}

export class BulkActionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ enum: BULK_ACTION_KINDS })
  action!: BulkActionKind;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Destination folder of a move' })
  folderId!: string | null;

  @ApiProperty({
    enum: BULK_ACTION_STATES,
    description:
      'queued → running → completed (every message settled; `failed` counts those the server refused) or failed (the job gave up: `error`)',
  })
  state!: BulkActionState;

  @ApiProperty({ description: 'Messages the request selected' })
  total!: number;

  @ApiProperty({ description: 'Messages changed on the server, or already as asked' })
  done!: number;

  @ApiProperty({
    description:
      'Messages not changed; each was put back as it was, with `actionError` set on it where the server refused',
  })
  failed!: number;

  @ApiProperty({ type: [BulkActionFailureDto], description: 'The first 100 failures with their reasons' })
  failures!: BulkActionFailureDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Why the job gave up (state failed)' })
  error!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: string | null;

  static from(record: BulkAction): BulkActionDto {
    return {
      id: record.id,
      accountId: record.accountId,
      action: record.action,
      folderId: record.targetFolderId,
      state: record.state,
      total: record.total,
      done: record.done,
      failed: record.failed,
      failures: record.failures,
      error: record.error,
      createdAt: record.createdAt.toISOString(),
      finishedAt: record.finishedAt?.toISOString() ?? null,
    };
  }
}
