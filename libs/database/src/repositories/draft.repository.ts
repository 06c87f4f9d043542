import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { Draft } from '../entities/draft.entity.js';
import { decodeCursor, pageByCreation } from './keyset-cursor.js';
import type { Page } from './keyset-cursor.js';

export type DraftContent = Pick<
  Draft,
  'to' | 'cc' | 'bcc' | 'subject' | 'textBody' | 'htmlBody' | 'inReplyTo' | 'references' | 'attachments'
>;

export type DraftUpdateResult =
  { state: 'updated'; draft: Draft } | { state: 'not-found' } | { state: 'stale'; currentVersion: number };

/** A draft whose IMAP copy is behind its version, or a removed draft whose copy may still be on the server. */
export interface DraftAwaitingMirror {
  draftId: string;
  accountId: string;
  version: number;
  removed: boolean;
}

/**
 * Drafts of the current tenant. Edits are guarded by the version column: an update names the
 * version it was based on and loses against any edit that landed in between.
 */
@Injectable()
export class DraftRepository {
  constructor(private readonly scope: TenantScope) {}

  async create(accountId: string, content: DraftContent): Promise<Draft> {
    return this.scope.transaction(async (manager, tenantId) => {
      const saved = await manager.save(
        Draft,
        manager.create(Draft, { ...content, accountId, tenantId, imapUid: null, imapUidValidity: null }),
      );
      return manager.findOneByOrFail(Draft, { id: saved.id, tenantId });
    });
  }

  async findById(id: string): Promise<Draft | null> {
    return this.scope.transaction((manager, tenantId) => manager.findOneBy(Draft, { id, tenantId }));
  }

  /** Locks the draft row until the surrounding transaction ends, so two sends of one draft serialise. */
  async findByIdForUpdate(id: string): Promise<Draft | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager
        .getRepository(Draft)
        .createQueryBuilder('draft')
        .setLock('pessimistic_write')
        .where('draft.id = :id AND draft.tenantId = :tenantId', { id, tenantId })
        .getOne(),
    );
  }

  /**
   * Drafts still being written: one a send holds (queued, perhaps scheduled or in its undo window,
   * or under way) is in the outbox instead, until the send leaves and removes it, or is cancelled
   * or fails and gives it back.
   */
  async list(accountId: string | undefined, limit: number, cursor?: string): Promise<Page<Draft>> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.scope.transaction(async (manager, tenantId) => {
      const query = manager
        .getRepository(Draft)
        .createQueryBuilder('draft')
        .where('draft.tenantId = :tenantId', { tenantId })
        .andWhere(
          `NOT EXISTS (SELECT 1 FROM "send_records" "send" WHERE "send"."draft_id" = "draft"."id"
             AND "send"."tenant_id" = "draft"."tenant_id" AND "send"."state" NOT IN ('failed', 'cancelled'))`,
        );
      if (accountId) query.andWhere('draft.accountId = :accountId', { accountId });
      return pageByCreation(query, 'draft', limit, after);
    });
  }

  /** Replaces the content when `expectedVersion` is still current; the version goes up by one. */
  async update(id: string, expectedVersion: number, content: DraftContent): Promise<DraftUpdateResult> {
    return this.scope.transaction(async (manager, tenantId) => {
      // TypeORM's update builder increments the @VersionColumn and sets updated_at itself.
      const result = await manager
        .createQueryBuilder()
        .update(Draft)
        .set(content)
        .where('id = :id AND tenant_id = :tenantId AND version = :expectedVersion', { id, tenantId, expectedVersion })
        .execute();
      const current = await manager.findOneBy(Draft, { id, tenantId });
      if (!current) return { state: 'not-found' };
      if (!result.affected) return { state: 'stale', currentVersion: current.version };
      return { state: 'updated', draft: current };
    });
  }

  /** Where the IMAP copy of the draft now lives; not an edit, so the version stays. */
  async setImapLocation(id: string, uid: number | null, uidValidity: string | null): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "drafts" SET "imap_uid" = $3, "imap_uid_validity" = $4 WHERE "id" = $1 AND "tenant_id" = $2`,
        [id, tenantId, uid, uidValidity],
      ),
    );
  }

  /** The IMAP copy now shows `version` (or there is nothing to mirror to); a later edit is not covered. */
  async markMirrored(id: string, version: number): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "drafts" SET "mirrored_version" = $3 WHERE "id" = $1 AND "tenant_id" = $2 AND "version" = $3`,
        [id, tenantId, version],
      ),
    );
  }

  /**
   * Returns the deleted draft (its attachments may need cleaning up), or null when there was none.
   * A removal is remembered in the same transaction until its IMAP copy is gone (forgetRemoval),
   * so a mirror job lost on the way is owed from PostgreSQL.
   */
  async delete(id: string): Promise<Draft | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const draft = await manager.findOneBy(Draft, { id, tenantId });
      if (!draft) return null;
      await manager.delete(Draft, { id, tenantId });
      await manager.query(
        `INSERT INTO "draft_removals" ("tenant_id", "draft_id", "account_id", "version") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("tenant_id", "draft_id") DO UPDATE SET "version" = EXCLUDED."version"`,
        [tenantId, draft.id, draft.accountId, draft.version],
      );
      return draft;
    });
  }

  /** The removed draft's IMAP copies are gone. */
  async forgetRemoval(id: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(`DELETE FROM "draft_removals" WHERE "tenant_id" = $1 AND "draft_id" = $2`, [tenantId, id]),
    );
  }

  /** The current tenant's drafts whose IMAP copy is behind, and removed drafts whose copy may remain. */
  async findAwaitingMirror(): Promise<DraftAwaitingMirror[]> {
    const rows = await this.scope.query<{ draft_id: string; account_id: string; version: number; removed: boolean }>(
      (tenantId) => ({
        sql: `SELECT "id" AS "draft_id", "account_id", "version", false AS "removed" FROM "drafts"
             WHERE "tenant_id" = :tenantId AND "mirrored_version" IS DISTINCT FROM "version"
            UNION ALL
            SELECT "draft_id", "account_id", "version", true AS "removed" FROM "draft_removals" WHERE "tenant_id" = :tenantId`,
        parameters: { tenantId },
      }),
    );
    return rows.map((row) => ({
      draftId: row.draft_id,
      accountId: row.account_id,
      version: row.version,
      removed: row.removed,
    }));
  }
}
