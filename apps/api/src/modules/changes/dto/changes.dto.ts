import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';

import { CLIENT_CHANGE_TYPES } from '../change-types.js';

export class ListChangesQueryDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  accountId!: string;

  @ApiPropertyOptional({
    description:
      'The `state` of an earlier answer (or an event id of /api/events). Absent: no changes, only the current state to start from; `0`: the whole log, while nothing has been pruned.',
    example: '42',
  })
  @IsOptional()
  @Matches(/^\d{1,15}$/, { message: 'since must be a state returned by this endpoint' })
  since?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class ChangeDto {
  @ApiProperty({ description: 'Position in the account’s log; increases by commit order' })
  seq!: number;

  @ApiProperty({ enum: CLIENT_CHANGE_TYPES })
  type!: string;

  @ApiProperty({ format: 'uuid', description: 'Id of the message, folder, thread, draft or send' })
  id!: string;

  @ApiProperty({ enum: ['created', 'updated', 'deleted'] })
  op!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}

export class ChangesPageDto {
  @ApiProperty({ type: [ChangeDto], description: 'Oldest first; one entry per entity and committed write' })
  changes!: ChangeDto[];

  @ApiProperty({ description: 'Opaque cursor: pass it as `since` to get what changed after these', example: '42' })
  state!: string;

  @ApiProperty({ description: 'More changes follow: ask again with `since=state` straight away' })
  hasMore!: boolean;
}
