import type { StoredAttachmentRef } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

/** An attachment stored for a draft or an upload; its id goes into attachmentIds. */
export class StoredAttachmentDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() filename!: string;
  @ApiProperty() contentType!: string;
  @ApiProperty({ description: 'Bytes' }) size!: number;

  static from(attachment: StoredAttachmentRef): StoredAttachmentDto {
    return {
      id: attachment.storageKey,
      filename: attachment.filename,
      contentType: attachment.contentType,
      size: attachment.size,
    };
  }
}
