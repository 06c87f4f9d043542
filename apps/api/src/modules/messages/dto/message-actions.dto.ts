import { MESSAGE_ACTION_KINDS } from '@app/database';
import type { MessageActionKind, RequestedAction } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class UpdateMessageFlagsDto {
  @ApiPropertyOptional({ description: 'Read (\\Seen) or unread' })
  @IsOptional()
  @IsBoolean()
  seen?: boolean;

  @ApiPropertyOptional({ description: 'Flagged (\\Flagged, "starred") or not' })
  @IsOptional()
  @IsBoolean()
  flagged?: boolean;
}

export class MoveMessageDto {
  @ApiProperty({
    description: 'Destination folder of the same account: its id, path or special-use role',
    example: 'Archive',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  folder!: string;
}

export class MessageActionErrorDto {
  @ApiProperty({ enum: MESSAGE_ACTION_KINDS })
  action!: MessageActionKind;

  @ApiProperty({
    description: "The server's reason",
    example: 'the IMAP server refused to move the message to Archive: Mailbox does not exist',
  })
  message!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}

export class MessageActionAcceptedDto {
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The recorded action; null when the message already was as asked',
  })
  actionId!: string | null;

  @ApiProperty({
    enum: ['pending', 'unchanged'],
    description:
      'pending: changed here, being applied on the IMAP server (undone with `actionError` set on the message if the server refuses)',
  })
  state!: 'pending' | 'unchanged';

  @ApiProperty({ enum: MESSAGE_ACTION_KINDS })
  action!: MessageActionKind;

  @ApiProperty({ format: 'uuid' })
  messageId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Folder path the message is shown in now; null once expunged',
    example: 'Trash',
  })
  folder!: string | null;

  @ApiProperty({ type: [String], example: ['\\Seen'] })
  flags!: string[];

  @ApiProperty({ description: 'Deleted for good (it was in Trash, or the account has no Trash folder)' })
  expunged!: boolean;

  static from(requested: RequestedAction): MessageActionAcceptedDto {
    return {
      actionId: requested.actionId,
      state: requested.actionId === null ? 'unchanged' : 'pending',
      action: requested.kind,
      messageId: requested.messageId,
      folder: requested.folderPath,
      flags: requested.flags,
      expunged: requested.expunged,
    };
  }
}
