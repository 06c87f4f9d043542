import { SPECIAL_USE_ROLES } from '@app/database';
import type { FolderRow, SpecialUseRole } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

export class FolderDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'Reports' })
  name!: string;

  @ApiProperty({ description: 'Full IMAP path; use it as `folder` when listing messages', example: 'Work/Reports' })
  path!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Hierarchy separator the server uses', example: '/' })
  delimiter!: string | null;

  @ApiProperty({ enum: SPECIAL_USE_ROLES, nullable: true, description: 'RFC 6154 special use' })
  role!: SpecialUseRole | null;

  @ApiProperty({ description: 'Messages in the folder' })
  total!: number;

  @ApiProperty({ description: 'Messages without \\Seen' })
  unread!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastSyncedAt!: string | null;

  static from(row: FolderRow): FolderDto {
    return {
      id: row.id,
      name: row.name,
      path: row.path,
      delimiter: row.delimiter,
      role: row.role,
      total: row.messageCount,
      unread: row.unseenCount,
      lastSyncedAt: row.lastSyncedAt?.toISOString() ?? null,
    };
  }
}

export class FolderListDto {
  @ApiProperty({ type: [FolderDto] })
  items!: FolderDto[];
}
