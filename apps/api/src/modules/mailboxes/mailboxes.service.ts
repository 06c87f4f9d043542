import type { Readable } from 'node:stream';

import { AppConfig } from '@app/config';
import { FolderReadRepository, MessageScopeNotFoundError } from '@app/database';
import { AccountMailSettings, AccountNotFoundError, exportMbox, ImapConnectionPool } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { FolderDto } from './dto/folder.dto.js';
import type { FolderListDto } from './dto/folder.dto.js';

export interface FolderExport {
  content: Readable;
  /** The folder's path, for the download's file name. */
  path: string;
}

@Injectable()
export class MailboxesService {
  constructor(
    private readonly config: AppConfig,
    private readonly folders: FolderReadRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly pool: ImapConnectionPool,
  ) {}

  /** Another tenant's account is as unknown as a missing one. */
  async list(accountId: string): Promise<FolderListDto> {
    const rows = await this.folders.listByAccount(accountId);
    if (!rows) throw new AccountNotFoundError(accountId);
    return { items: rows.map((row) => FolderDto.from(row)) };
  }

  /** Every message of the folder as the server holds it, as one mboxrd stream. */
  async export(accountId: string, folderId: string): Promise<FolderExport> {
    const found = await this.folders.findServerFolder(accountId, folderId);
    if (!found.account) throw new AccountNotFoundError(accountId);
    // A folder never synced has no UIDVALIDITY to check the server's against.
    if (!found.folder?.uidValidity) throw new MessageScopeNotFoundError('folder');
    const { imap } = await this.mailSettings.forAccount(accountId);
    const content = await exportMbox(
      this.pool,
      imap,
      { path: found.folder.path, uidValidity: found.folder.uidValidity },
      this.config.mail.imapTimeoutMs,
    );
    return { content, path: found.folder.path };
  }
}
