import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';

import { PageQueryDto } from '../../../common/dto/page-query.dto.js';

export class SearchQueryDto extends PageQueryDto {
  @ApiProperty({
    description:
      'Free words, "exact phrases" and operators: from: to: cc: subject: has:attachment is:unread is:read is:flagged ' +
      'in:FOLDER before:YYYY-MM-DD after:YYYY-MM-DD; -negation, OR, parentheses. Case and accents are ignored.',
    example: 'from:alice has:attachment (invoice OR receipt) -is:read',
  })
  @IsString()
  @MaxLength(1000)
  query!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only this account; all of the tenant’s accounts otherwise' })
  @IsOptional()
  @IsUUID()
  accountId?: string;
}
