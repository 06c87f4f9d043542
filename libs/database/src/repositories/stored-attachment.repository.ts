import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

export interface NewStoredAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** What drafts and send records keep about an attachment; `storageKey` is the stored_attachments row. */
export interface StoredAttachmentRef {
  filename: string;
  contentType: string;
  size: number;
  storageKey: string;
}

export interface LockedStoredAttachment extends StoredAttachmentRef {
  accountId: string;
}

/**
 * How long a stored attachment that nothing points at is kept: an upload waits this long for the
 * draft or send that names it.
 */
export const UNREFERENCED_ATTACHMENT_RETENTION_HOURS = 24;

/**
 * The keys that drafts and unfinished sends of tenant $1 point at. A send whose Sent copy is filed,
 * or that failed, no longer needs its bytes (a draft sent and then deleted shares its keys with
 * the send until the Sent copy is filed).
 */
const REFERENCED_KEYS = `
  SELECT a->>'storageKey' AS "key" FROM "drafts" d CROSS JOIN LATERAL jsonb_array_elements(d."attachments") a
   WHERE d."tenant_id" = $1
  UNION
  SELECT a->>'storageKey' FROM "send_records" o CROSS JOIN LATERAL jsonb_array_elements(o."content"->'attachments') a
   WHERE o."tenant_id" = $1 AND o."state" NOT IN ('failed', 'cancelled') AND NOT (o."state" IN ('sent', 'bounced') AND o."sent_copy_appended_at" IS NOT NULL)`;

/**
 * Attachment bytes of drafts, queued sends and uploads waiting to be named by one (table
 * stored_attachments, see migration StoredAttachments). There is no entity: rows are only ever
 * read by key, whole.
 *
 * A row is deleted once nothing points at it. The deletes skip rows that another transaction
 * holds (`lockForReference`), so a draft or send that is about to name a row and the delete that
 * would find it unnamed cannot both succeed: either the reference commits first and the row
 * stays, or the row is gone and the reference fails.
 */
@Injectable()
export class StoredAttachmentRepository {
  constructor(private readonly scope: TenantScope) {}

  async store(accountId: string, attachments: readonly NewStoredAttachment[]): Promise<StoredAttachmentRef[]> {
    if (attachments.length === 0) return [];
    return this.scope.transaction(async (manager, tenantId) => {
      const refs: StoredAttachmentRef[] = [];
      for (const attachment of attachments) {
        const rows: { id: string }[] = await manager.query(
          `INSERT INTO "stored_attachments" ("tenant_id", "account_id", "filename", "content_type", "size", "content")
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id"`,
          [
            tenantId,
            accountId,
            attachment.filename,
            attachment.contentType,
            attachment.content.length,
            attachment.content,
          ],
        );
        const id = rows[0]?.id;
        if (!id) throw new Error('stored attachment insert returned no id');
        refs.push({
          filename: attachment.filename,
          contentType: attachment.contentType,
          size: attachment.content.length,
          storageKey: id,
        });
      }
      return refs;
    });
  }

  /**
   * The rows of the given keys that exist for the tenant, locked (FOR SHARE) until the
   * surrounding transaction ends: call it in the transaction that stores the reference.
   */
  async lockForReference(storageKeys: readonly string[]): Promise<LockedStoredAttachment[]> {
    if (storageKeys.length === 0) return [];
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { id: string; account_id: string; filename: string; content_type: string; size: number }[] =
        await manager.query(
          `SELECT "id", "account_id", "filename", "content_type", "size" FROM "stored_attachments"
          WHERE "tenant_id" = $1 AND "id" = ANY($2::uuid[]) FOR SHARE`,
          [tenantId, storageKeys],
        );
      return rows.map((row) => ({
        storageKey: row.id,
        accountId: row.account_id,
        filename: row.filename,
        contentType: row.content_type,
        size: row.size,
      }));
    });
  }

  /** The bytes of each key; a key that is missing (deleted meanwhile) is absent from the map. */
  async load(storageKeys: readonly string[]): Promise<Map<string, Buffer>> {
    if (storageKeys.length === 0) return new Map();
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { id: string; content: Buffer }[] = await manager.query(
        `SELECT "id", "content" FROM "stored_attachments" WHERE "tenant_id" = $1 AND "id" = ANY($2::uuid[])`,
        [tenantId, storageKeys],
      );
      return new Map(rows.map((row) => [row.id, row.content]));
    });
  }

  /** Deletes the given rows unless a draft or an unfinished send still points at them. */
  async deleteUnreferenced(storageKeys: readonly string[]): Promise<number> {
    if (storageKeys.length === 0) return 0;
    return this.deleteWhere(`s."id" = ANY($2::uuid[])`, [storageKeys]);
  }

  /** The purge: rows older than the retention that nothing points at, uploads never used included. */
  async deleteUnreferencedOlderThan(hours: number): Promise<number> {
    return this.deleteWhere(`s."created_at" < now() - make_interval(hours => $2)`, [hours]);
  }

  private async deleteWhere(condition: string, params: unknown[]): Promise<number> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [, affected]: [unknown, number] = await manager.query(
        `WITH "referenced" AS MATERIALIZED (${REFERENCED_KEYS})
         DELETE FROM "stored_attachments" WHERE "tenant_id" = $1 AND "id" IN (
           SELECT s."id" FROM "stored_attachments" s
            WHERE s."tenant_id" = $1 AND ${condition}
              AND NOT EXISTS (SELECT 1 FROM "referenced" r WHERE r."key" = s."id"::text)
            FOR UPDATE OF s SKIP LOCKED)`,
        [tenantId, ...params],
      );
      return affected;
    });
  }
}
