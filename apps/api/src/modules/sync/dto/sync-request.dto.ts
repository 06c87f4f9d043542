import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class SyncRequestQueryDto {
  @ApiPropertyOptional({ description: 'Sync only this folder path (e.g. INBOX); all folders when absent' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  folder?: string;

  @ApiPropertyOptional({ description: 'Fetch every message again instead of only what changed', default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' || value === true ? true : value === 'false' || value === false ? false : value,
  )
  @IsBoolean()
  full?: boolean;
}
