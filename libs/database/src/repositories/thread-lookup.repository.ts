import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

/** The thread of the latest stored message with a given base subject, and when that message arrived. */
export interface ThreadBySubject {
  threadId: string;
  receivedAt: number;
}

/**
 * The stored side of threading: which thread a Message-ID already belongs to. Called inside the
 * batch write's transaction (TenantScope joins it), so the lookups cost no transaction of their own.
 */
@Injectable()
export class ThreadLookupRepository {
  constructor(private readonly scope: TenantScope) {}

  /** Message-ID to the thread of the first stored message carrying it. */
  async threadsOfMessages(accountId: string, messageIds: string[]): Promise<Map<string, string>> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { message_id: string; thread_id: string }[] = await manager.query(
        `SELECT DISTINCT ON ("message_id") "message_id", "thread_id" FROM "mail_messages"
         WHERE "tenant_id" = $1 AND "account_id" = $2 AND "message_id" = ANY($3::text[]) AND "thread_id" IS NOT NULL
         ORDER BY "message_id", "created_at"`,
        [tenantId, accountId, messageIds],
      );
      return new Map(rows.map((row) => [row.message_id, row.thread_id]));
    });
  }

  /**
   * Message-ID to the thread of the first stored message referring to it (In-Reply-To or
   * References): replies, and replies to replies, that were synced before the message they answer.
   */
  async threadsOfReferrers(accountId: string, messageIds: string[]): Promise<Map<string, string>> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { referenced_id: string; thread_id: string }[] = await manager.query(
        `SELECT DISTINCT ON (r."referenced_id") r."referenced_id", m."thread_id"
         FROM "mail_message_references" r JOIN "mail_messages" m ON m."id" = r."message_id"
         WHERE r."tenant_id" = $1 AND r."account_id" = $2 AND r."referenced_id" = ANY($3::text[]) AND m."thread_id" IS NOT NULL
         ORDER BY r."referenced_id", m."created_at"`,
        [tenantId, accountId, messageIds],
      );
      return new Map(rows.map((row) => [row.referenced_id, row.thread_id]));
    });
  }

  /** The latest stored message whose subject, without what `replyPrefix` matches and case folded, is `baseSubject`. */
  async latestWithBaseSubject(
    accountId: string,
    baseSubject: string,
    replyPrefix: RegExp,
  ): Promise<ThreadBySubject | undefined> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [row] = await manager.query<{ thread_id: string; received_at: Date }[]>(
        `SELECT "thread_id", "received_at" FROM "mail_messages"
         WHERE "tenant_id" = $1 AND "account_id" = $2 AND "thread_id" IS NOT NULL
           AND lower(btrim(regexp_replace(coalesce("subject", ''), $3, '', 'i'))) = $4
         ORDER BY "received_at" DESC LIMIT 1`,
        [tenantId, accountId, replyPrefix.source, baseSubject],
      );
      return row ? { threadId: row.thread_id, receivedAt: new Date(row.received_at).getTime() } : undefined;
    });
  }
}
