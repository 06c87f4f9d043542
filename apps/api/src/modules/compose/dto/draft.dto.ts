import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';

import { MessageFieldsDto } from './message-fields.dto.js';

export class CreateDraftDto extends MessageFieldsDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  accountId!: string;
}

/** A full replacement of the draft's content, based on the version the client last read. */
export class UpdateDraftDto extends MessageFieldsDto {
  @ApiProperty({ description: 'The version this edit is based on; a newer stored version answers 409' })
  @IsInt()
  @Min(1)
  version!: number;
}

export class UploadAttachmentsQueryDto {
  @ApiProperty({ format: 'uuid', description: 'The account whose drafts and messages may use the files' })
  @IsUUID()
  accountId!: string;
}

export class ListDraftsQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;
}
