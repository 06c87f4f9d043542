import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';

import { PageQueryDto } from '../../../common/dto/page-query.dto.js';

export class ListAccountsQueryDto extends PageQueryDto {}

export class VerifyQueryDto {
  @ApiPropertyOptional({ default: true, description: 'false skips the IMAP/SMTP login test' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'false' ? false : value === 'true' ? true : value))
  @IsBoolean()
  verify = true;
}
