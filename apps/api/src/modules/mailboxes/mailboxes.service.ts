import { FolderReadRepository } from '@app/database';
import { Injectable, NotFoundException } from '@nestjs/common';

import { FolderDto } from './dto/folder.dto.js';
import type { FolderListDto } from './dto/folder.dto.js';

@Injectable()
export class MailboxesService {
  constructor(private readonly folders: FolderReadRepository) {}

  /** Another tenant's account is as unknown as a missing one. */
  async list(accountId: string): Promise<FolderListDto> {
    const rows = await this.folders.listByAccount(accountId);
    if (!rows) throw new NotFoundException(`account ${accountId} not found`);
    return { items: rows.map((row) => FolderDto.from(row)) };
  }
}
