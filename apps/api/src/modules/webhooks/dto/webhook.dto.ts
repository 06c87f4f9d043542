import { ALL_WEBHOOK_EVENTS, WEBHOOK_EVENT_TYPES } from '@app/database';
import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsUrl,
  IsUUID,
  MaxLength,
} from 'class-validator';

import { PageQueryDto } from '../../../common/dto/page-query.dto.js';

const EVENT_CHOICES = [ALL_WEBHOOK_EVENTS, ...WEBHOOK_EVENT_TYPES];

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://hooks.example.com/mail',
    description:
      'http or https, without credentials; the host must pass OUTBOUND_POLICY (in `public` mode: a public address on an allowed port), checked now and at every delivery',
  })
  @MaxLength(2048)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, disallow_auth: true })
  url!: string;

  @ApiProperty({
    enum: EVENT_CHOICES,
    isArray: true,
    example: ['message.created', 'send.sent', 'send.failed'],
    description: '`["*"]` takes every event type, also those added later; an empty list is refused',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_CHOICES.length)
  @ArrayUnique()
  @IsIn(EVENT_CHOICES, { each: true })
  events!: string[];

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    nullable: true,
    description: 'Only these accounts; absent or null: every account of the tenant, also those added later',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  accountIds?: string[] | null;

  @ApiPropertyOptional({
    default: true,
    description:
      'An inactive webhook gets no new events; activating it again clears `disabledReason` and sends what was pending when it stopped',
  })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class UpdateWebhookDto extends PartialType(CreateWebhookDto) {}

export class ListWebhooksQueryDto extends PageQueryDto {}

export class ListWebhookDeliveriesQueryDto extends PageQueryDto {}
