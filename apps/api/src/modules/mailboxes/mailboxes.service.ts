import { FolderReadRepository } from '@app/database';
import { AccountNotFoundError } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { FolderDto } from './dto/folder.dto.js';
import type { FolderListDto } from './dto/folder.dto.js';

@Injectable()
export class MailboxesService {
  constructor(private readonly folders: FolderReadRepository) {}

  /** Another tenant's account is as unknown as a missing one. */
  async list(accountId: string): Promise<FolderListDto> {
    const rows = await this.folders.listByAccount(accountId);
    if (!rows) throw new AccountNotFoundError(accountId);
    return { items: rows.map((row) => FolderDto.from(row)) };
  }
}
