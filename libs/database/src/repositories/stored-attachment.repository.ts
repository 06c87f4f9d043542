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

/**
 * Attachment bytes of drafts and queued sends (table stored_attachments, see migration
 * StoredAttachments). There is no entity: rows are only ever read by key, whole.
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
          [tenantId, accountId, attachment.filename, attachment.contentType, attachment.content.length, attachment.content],
        );
        const id = rows[0]?.id;
        if (!id) throw new Error('stored attachment insert returned no id');
        refs.push({ filename: attachment.filename, contentType: attachment.contentType, size: attachment.content.length, storageKey: id });
      }
      return refs;
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

  /**
   * Deletes the given rows unless a draft or an unfinished send still points at them (a draft
   * sent and then deleted shares its keys with the send until the Sent copy is filed).
   */
  async deleteUnreferenced(storageKeys: readonly string[]): Promise<number> {
    if (storageKeys.length === 0) return 0;
    return this.scope.transaction(async (manager, tenantId) => {
      const [, affected]: [unknown, number] = await manager.query(
        `DELETE FROM "stored_attachments" s
          WHERE s."tenant_id" = $1 AND s."id" = ANY($2::uuid[])
            AND NOT EXISTS (
              SELECT 1 FROM "drafts" d
               WHERE d."tenant_id" = $1 AND d."attachments" @> jsonb_build_array(jsonb_build_object('storageKey', s."id"::text)))
            AND NOT EXISTS (
              SELECT 1 FROM "outbound_messages" o
               WHERE o."tenant_id" = $1
                 AND o."content"->'attachments' @> jsonb_build_array(jsonb_build_object('storageKey', s."id"::text))
                 AND o."state" <> 'failed'
                 AND NOT (o."state" = 'sent' AND o."sent_copy_appended_at" IS NOT NULL))`,
        [tenantId, storageKeys],
      );
      return affected;
    });
  }
}
