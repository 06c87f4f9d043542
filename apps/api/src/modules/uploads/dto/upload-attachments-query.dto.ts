import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class UploadAttachmentsQueryDto {
  @ApiProperty({ format: 'uuid', description: 'The account whose drafts and messages may use the files' })
  @IsUUID()
  accountId!: string;
}
