import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';

import { MAX_RECIPIENTS_PER_FIELD, MessageFieldsDto } from '../../../common/message-fields/message-fields.dto.js';
import { IsRecipientList } from '../../../common/message-fields/recipients.js';
import { IsSendAt } from './send-at.js';

export class ComposeMessageDto extends MessageFieldsDto {
  @ApiProperty({ format: 'uuid', description: 'The account that sends (its address is the From)' })
  @IsUUID()
  accountId!: string;

  @ApiPropertyOptional({ type: 'array', items: { type: 'string' }, example: ['Support <support@example.com>'] })
  @IsOptional()
  @IsRecipientList(MAX_RECIPIENTS_PER_FIELD)
  replyTo?: unknown[];

  @IsSendAt()
  sendAt?: string;
}
