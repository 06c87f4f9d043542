import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { MailAccount } from '../entities/mail-account.entity.js';
import { MailFolder } from '../entities/mail-folder.entity.js';

export type FolderRow = Pick<
  MailFolder,
  'id' | 'accountId' | 'name' | 'path' | 'delimiter' | 'role' | 'messageCount' | 'unseenCount' | 'lastSyncedAt'
>;

/** Folders as a mail client shows them: the counters the sync maintains, no sync internals. */
@Injectable()
export class FolderReadRepository {
  constructor(private readonly scope: TenantScope) {}

  /** Null when the account does not exist for this tenant. Special-use folders first, in the usual client order. */
  async listByAccount(accountId: string): Promise<FolderRow[] | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      if (!(await manager.existsBy(MailAccount, { id: accountId, tenantId }))) return null;
      return manager
        .getRepository(MailFolder)
        .createQueryBuilder('folder')
        .select([
          'folder.id',
          'folder.accountId',
          'folder.name',
          'folder.path',
          'folder.delimiter',
          'folder.role',
          'folder.messageCount',
          'folder.unseenCount',
          'folder.lastSyncedAt',
        ])
        .where('folder.tenantId = :tenantId AND folder.accountId = :accountId', { tenantId, accountId })
        .orderBy(
          `CASE folder.role WHEN 'inbox' THEN 0 WHEN 'drafts' THEN 1 WHEN 'sent' THEN 2 WHEN 'archive' THEN 3 WHEN 'junk' THEN 4 WHEN 'trash' THEN 5 WHEN 'all' THEN 6 WHEN 'flagged' THEN 7 ELSE 8 END`,
        )
        .addOrderBy('folder.path', 'ASC')
        .getMany();
    });
  }

  /**
   * Where a folder of the account is on the server, for reading it there; `account: false` when the
   * tenant has no such account, `folder: null` when the account has no such folder.
   */
  async findServerFolder(
    accountId: string,
    folderId: string,
  ): Promise<{ account: boolean; folder: { path: string; uidValidity: string | null } | null }> {
    const [row] = await this.scope.query<{ path: string | null; uid_validity: string | null }>((tenantId) => ({
      sql: `SELECT f.path, f.uid_validity FROM mail_accounts a
            LEFT JOIN mail_folders f ON f.tenant_id = :tenantId AND f.account_id = a.id AND f.id = :folderId
            WHERE a.tenant_id = :tenantId AND a.id = :accountId`,
      parameters: { tenantId, accountId, folderId },
    }));
    if (!row) return { account: false, folder: null };
    return { account: true, folder: row.path === null ? null : { path: row.path, uidValidity: row.uid_validity } };
  }
}
