import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { MailFolder } from '../entities/mail-folder.entity.js';
import type { SpecialUseRole } from '../entities/mail-folder.entity.js';
import { MailMessage } from '../entities/mail-message.entity.js';

export interface NewMailFolder {
  accountId: string;
  path: string;
  name: string;
  delimiter: string | null;
  role: SpecialUseRole | null;
}

/** What the server said about a folder when a sync of it completed (RFC 3501 STATUS, RFC 7162 HIGHESTMODSEQ). */
export interface FolderSyncedCounters {
  uidValidity: string;
  uidNext: string | null;
  highestModseq: string | null;
  messageCount: number;
  unseenCount: number;
}

/** Folders of the current tenant's accounts and their sync counters. */
@Injectable()
export class FolderRepository {
  constructor(private readonly scope: TenantScope) {}

  async listForAccount(accountId: string): Promise<MailFolder[]> {
    return this.scope.transaction((manager, tenantId) =>
      manager.find(MailFolder, { where: { tenantId, accountId }, order: { path: 'ASC' } }),
    );
  }

  async findById(id: string): Promise<MailFolder | null> {
    return this.scope.transaction((manager, tenantId) => manager.findOneBy(MailFolder, { id, tenantId }));
  }

  async create(values: NewMailFolder): Promise<MailFolder> {
    return this.scope.transaction(async (manager, tenantId) => {
      await manager
        .createQueryBuilder()
        .insert()
        .into(MailFolder)
        .values({ ...values, tenantId })
        .orIgnore()
        .execute();
      return manager.findOneByOrFail(MailFolder, { tenantId, accountId: values.accountId, path: values.path });
    });
  }

  /** A rename keeps the folder's messages: same mailbox, new name (detected by an unchanged UIDVALIDITY). */
  async rename(
    id: string,
    path: string,
    name: string,
    delimiter: string | null,
    role: SpecialUseRole | null,
  ): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(MailFolder, { id, tenantId }, { path, name, delimiter, role }),
    );
  }

  async updateListing(id: string, delimiter: string | null, role: SpecialUseRole | null): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(MailFolder, { id, tenantId }, { delimiter, role }),
    );
  }

  /** Messages go with their folder (ON DELETE CASCADE). */
  async delete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.scope.transaction(async (manager, tenantId) => {
      await manager
        .createQueryBuilder()
        .delete()
        .from(MailFolder)
        .where('tenant_id = :tenantId AND id IN (:...ids)', { tenantId, ids })
        .execute();
    });
  }

  /**
   * The server replaced the mailbox (RFC 3501 section 2.3.1.1): every UID stored for the old
   * UIDVALIDITY is meaningless now. Drops those rows and restarts the folder from UID 1.
   */
  async resetForUidValidity(id: string, uidValidity: string): Promise<number> {
    return this.scope.transaction(async (manager, tenantId) => {
      const removed = await manager
        .createQueryBuilder()
        .delete()
        .from(MailMessage)
        .where('tenant_id = :tenantId AND folder_id = :id AND uid_validity <> :uidValidity', {
          tenantId,
          id,
          uidValidity,
        })
        .execute();
      await manager.update(
        MailFolder,
        { id, tenantId },
        {
          uidValidity,
          uidNext: null,
          highestModseq: null,
          lastUid: '0',
          syncedCount: 0,
          messageCount: 0,
          unseenCount: 0,
        },
      );
      return removed.affected ?? 0;
    });
  }

  async markSynced(id: string, counters: FolderSyncedCounters): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE "mail_folders" SET "uid_validity" = $3, "uid_next" = $4, "highest_modseq" = $5, "message_count" = $6,
           "unseen_count" = $7, "last_synced_at" = now(), "last_error" = NULL, "last_error_at" = NULL, "failure_count" = 0,
           "next_sync_after" = NULL, "updated_at" = now(),
           "synced_count" = (SELECT count(*) FROM "mail_messages" m WHERE m."tenant_id" = $1 AND m."folder_id" = $2 AND m."uid_validity" = $3)
         WHERE "tenant_id" = $1 AND "id" = $2`,
        [
          tenantId,
          id,
          counters.uidValidity,
          counters.uidNext,
          counters.highestModseq,
          counters.messageCount,
          counters.unseenCount,
        ],
      );
    });
  }

  /** One more consecutive failure of the folder, not to be tried again by a scheduled sync before `nextSyncAfter`. */
  async recordFailure(id: string, message: string, failureCount: number, nextSyncAfter: Date): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(
        MailFolder,
        { id, tenantId },
        { lastError: message, lastErrorAt: new Date(), failureCount, nextSyncAfter },
      ),
    );
  }
}
