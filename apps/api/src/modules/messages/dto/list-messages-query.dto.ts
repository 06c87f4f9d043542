import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';

import { PageQueryDto, toBoolean } from '../../../common/dto/page-query.dto.js';

export class ListMessagesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only this account; required when `folder` is a path or role' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiPropertyOptional({
    description: 'Folder id, path (e.g. "INBOX", "Work/Reports") or special-use role (e.g. "sent")',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  folder?: string;

  @ApiPropertyOptional({ description: 'true: only unread; false: only read' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  unread?: boolean;

  @ApiPropertyOptional({ description: 'true: only flagged; false: only unflagged' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  flagged?: boolean;
}
