import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { ChangeLogRepository } from './change-log.repository.js';
import type { ChangeEntry } from './change-log.repository.js';

/** A delivery to create for one change of the log. */
export interface NewWebhookDelivery {
  seq: number;
  type: string;
  entityId: string;
  changedAt: Date;
}

export interface DispatchedBatch {
  /** Changes read past the cursor (the cursor moved past all of them). */
  read: number;
  /** Deliveries created for them. */
  created: number;
}

/** A (webhook, account) whose cursor is behind the account's change log. */
export interface WebhookCursorBehind {
  webhookId: string;
  accountId: string;
}

/**
 * Per (webhook, account), the change-log position up to which changes became deliveries. The
 * cursor row is locked while a batch is turned into deliveries and moved in the same transaction,
 * so dispatchers in several worker replicas serialise on it and never create a delivery twice.
 */
@Injectable()
export class WebhookCursorRepository {
  constructor(
    private readonly scope: TenantScope,
    private readonly changeLog: ChangeLogRepository,
  ) {}

  /**
   * Moves the webhook's cursors of `accountIds` (null: every account of the tenant) to the end of
   * their logs, so what changed before is not delivered: for a new webhook, an account newly
   * included, or a webhook activated again. An account created later starts from 0. `except`
   * keeps the cursors of accounts the webhook already followed where they are.
   */
  async fastForward(
    webhookId: string,
    accountIds: readonly string[] | null,
    except: readonly string[] = [],
  ): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `INSERT INTO "webhook_cursors" ("tenant_id", "webhook_id", "account_id", "last_seq")
            SELECT "account"."tenant_id", :webhookId, "account"."id", COALESCE("sequence"."last_seq", 0)
              FROM "mail_accounts" "account"
              LEFT JOIN "change_sequences" "sequence" ON "sequence"."account_id" = "account"."id" AND "sequence"."tenant_id" = :tenantId
             WHERE "account"."tenant_id" = :tenantId
               ${accountIds === null ? '' : 'AND "account"."id" = ANY(CAST(:accountIds AS uuid[]))'}
               AND NOT ("account"."id" = ANY(CAST(:except AS uuid[])))
            ON CONFLICT ("webhook_id", "account_id") DO UPDATE SET "last_seq" = GREATEST("webhook_cursors"."last_seq", EXCLUDED."last_seq")`,
      parameters: { tenantId, webhookId, accountIds, except },
    }));
  }

  /**
   * Turns up to `limit` changes after the cursor into the deliveries `toDeliveries` picks, and
   * moves the cursor past every change read, in one transaction holding the cursor row.
   */
  async dispatchBatch(
    webhookId: string,
    accountId: string,
    limit: number,
    toDeliveries: (changes: ChangeEntry[]) => NewWebhookDelivery[],
  ): Promise<DispatchedBatch> {
    return this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `INSERT INTO "webhook_cursors" ("tenant_id", "webhook_id", "account_id", "last_seq") VALUES ($1, $2, $3, 0)
         ON CONFLICT ("webhook_id", "account_id") DO NOTHING`,
        [tenantId, webhookId, accountId],
      );
      const [cursor] = await manager.query<{ last_seq: string }[]>(
        `SELECT "last_seq" FROM "webhook_cursors" WHERE "webhook_id" = $1 AND "account_id" = $2 AND "tenant_id" = $3 FOR UPDATE`,
        [webhookId, accountId, tenantId],
      );
      const changes = await this.changeLog.listSince(accountId, Number(cursor?.last_seq ?? 0), limit);
      const last = changes.at(-1);
      if (!last) return { read: 0, created: 0 };
      const deliveries = toDeliveries(changes);
      if (deliveries.length > 0) {
        await manager.query(
          `INSERT INTO "webhook_deliveries" ("tenant_id", "webhook_id", "account_id", "seq", "type", "entity_id", "changed_at")
           SELECT $1, $2, $3, "seq", "type", "entity_id", "changed_at"
             FROM unnest(CAST($4 AS bigint[]), CAST($5 AS text[]), CAST($6 AS uuid[]), CAST($7 AS timestamptz[]))
                  AS "change"("seq", "type", "entity_id", "changed_at")
           ON CONFLICT ON CONSTRAINT "uq_webhook_deliveries_change" DO NOTHING`,
          [
            tenantId,
            webhookId,
            accountId,
            deliveries.map((delivery) => delivery.seq),
            deliveries.map((delivery) => delivery.type),
            deliveries.map((delivery) => delivery.entityId),
            deliveries.map((delivery) => delivery.changedAt),
          ],
        );
      }
      await manager.query(
        `UPDATE "webhook_cursors" SET "last_seq" = $4 WHERE "webhook_id" = $1 AND "account_id" = $2 AND "tenant_id" = $3`,
        [webhookId, accountId, tenantId, last.seq],
      );
      return { read: changes.length, created: deliveries.length };
    });
  }

  /** Every (active webhook, account) of the tenant whose cursor is behind the account's log: what a lost notification left. */
  async behind(): Promise<WebhookCursorBehind[]> {
    const rows = await this.scope.query<{ webhook_id: string; account_id: string }>((tenantId) => ({
      sql: `SELECT "webhook"."id" AS "webhook_id", "sequence"."account_id"
              FROM "webhooks" "webhook"
              JOIN "change_sequences" "sequence" ON "sequence"."tenant_id" = :tenantId
                   AND ("webhook"."account_ids" IS NULL OR "sequence"."account_id" = ANY("webhook"."account_ids"))
              LEFT JOIN "webhook_cursors" "cursor" ON "cursor"."webhook_id" = "webhook"."id" AND "cursor"."account_id" = "sequence"."account_id"
             WHERE "webhook"."tenant_id" = :tenantId AND "webhook"."active"
               AND "sequence"."last_seq" > COALESCE("cursor"."last_seq", 0)`,
      parameters: { tenantId },
    }));
    return rows.map((row) => ({ webhookId: row.webhook_id, accountId: row.account_id }));
  }
}
