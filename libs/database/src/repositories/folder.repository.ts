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

/** UIDs `first` to `last`, both included. */
export interface UidRange {
  first: number;
  last: number;
}

/** The newest messages a folder must have stored before its first page counts as complete. */
export const NEWEST_PAGE = 50;

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
   * The UID ranges stored for the folder's current UIDVALIDITY, ascending and disjoint: each range
   * holds every message the server had in it when it was fetched.
   */
  async storedUids(id: string): Promise<UidRange[]> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows = await manager.query<{ first: string; last: string }[]>(
        `SELECT lower(r) AS "first", upper(r) - 1 AS "last" FROM "mail_folders" f, unnest(f."stored_uids") r
         WHERE f."tenant_id" = $1 AND f."id" = $2 ORDER BY lower(r)`,
        [tenantId, id],
      );
      return rows.map((row) => ({ first: Number(row.first), last: Number(row.last) }));
    });
  }

  /** What the server holds as a sync of the folder begins: the total it reports and the top its newest page is measured against. */
  async beginSync(id: string, uidNext: number, messageCount: number): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "mail_folders" SET "sync_uid_next" = $3, "message_count" = $4, "updated_at" = now() WHERE "tenant_id" = $1 AND "id" = $2`,
        [tenantId, id, uidNext, messageCount],
      ),
    );
  }

  /**
   * Folders of the account whose newest page is stored: the range reaching the top of the
   * folder's latest sync holds ${NEWEST_PAGE} messages or starts at UID 1. A folder never synced has none.
   */
  async newestPageStored(accountId: string): Promise<Set<string>> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows = await manager.query<{ id: string }[]>(
        `SELECT f."id" FROM "mail_folders" f
         WHERE f."tenant_id" = $1 AND f."account_id" = $2 AND f."sync_uid_next" IS NOT NULL
           AND (f."sync_uid_next" <= 1 OR EXISTS (
             SELECT 1 FROM unnest(f."stored_uids") r
             WHERE upper(r) >= f."sync_uid_next" AND (lower(r) = 1 OR (
               SELECT count(*) FROM (
                 SELECT 1 FROM "mail_messages" m
                 WHERE m."tenant_id" = $1 AND m."account_id" = f."account_id" AND m."folder_id" = f."id"
                   AND m."uid_validity" = f."uid_validity" AND m."uid" >= lower(r)
                 LIMIT $3) newest) >= $3)))`,
        [tenantId, accountId, NEWEST_PAGE],
      );
      return new Set(rows.map((row) => row.id));
    });
  }

  /**
   * The server replaced the mailbox (RFC 3501 section 2.3.1.1): every UID stored for the old
   * UIDVALIDITY is meaningless now. Drops those rows and their stored ranges: the folder starts over.
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
      await manager.query(
        `UPDATE "mail_folders" SET "uid_validity" = $3, "uid_next" = NULL, "sync_uid_next" = NULL, "highest_modseq" = NULL,
           "last_uid" = 0, "stored_uids" = '{}', "synced_count" = 0, "message_count" = 0, "unseen_count" = 0, "updated_at" = now()
         WHERE "tenant_id" = $1 AND "id" = $2`,
        [tenantId, id, uidValidity],
      );
      return removed.affected ?? 0;
    });
  }

  /** Every server UID below `counters.uidNext` is stored: the sync of the folder completed. */
  async markSynced(id: string, counters: FolderSyncedCounters): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE "mail_folders" SET "uid_validity" = $3, "uid_next" = $4, "highest_modseq" = $5, "message_count" = $6,
           "unseen_count" = $7, "last_synced_at" = now(),
           -- every message below the UIDNEXT the sync began with is stored now, including the gaps no UID fills
           "stored_uids" = "stored_uids" + int8multirange(int8range(1, coalesce($4::bigint, 1))), "last_error" = NULL, "last_error_at" = NULL, "failure_count" = 0,
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
