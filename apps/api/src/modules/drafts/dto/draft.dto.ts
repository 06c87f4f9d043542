import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Min } from 'class-validator';

import { PageQueryDto } from '../../../common/dto/page-query.dto.js';
import { MessageFieldsDto } from '../../../common/message-fields/message-fields.dto.js';

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

export class ListDraftsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;
}
