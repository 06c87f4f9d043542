import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { Webhook } from '../entities/webhook.entity.js';
import { WebhookDelivery } from '../entities/webhook-delivery.entity.js';
import { entityFromRow } from './entity-from-row.js';
import { decodeCursor, pageOf } from './keyset-cursor.js';
import type { Page } from './keyset-cursor.js';

/** The oldest pending delivery of a (webhook, account): the only one that may go out. */
export interface WebhookDeliveryHead {
  id: string;
  webhookId: string;
  accountId: string;
  nextAttemptAt: Date;
}

/** What one attempt learned; `responseStatus` null when no HTTP answer came. */
export interface WebhookAttemptResult {
  responseStatus: number | null;
  durationMs: number;
  error: string | null;
}

interface HeadRow {
  id: string;
  webhook_id: string;
  account_id: string;
  next_attempt_at: Date;
}

function headOf(row: HeadRow): WebhookDeliveryHead {
  return { id: row.id, webhookId: row.webhook_id, accountId: row.account_id, nextAttemptAt: row.next_attempt_at };
}

/**
 * Deliveries of the current tenant's webhooks and the steps of one attempt. An attempt first
 * claims its delivery for a bounded time (one conditional UPDATE), so two jobs of the same
 * delivery — a stalled job run again beside the first — never post it at once.
 */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(private readonly scope: TenantScope) {}

  /** Newest first. */
  async list(webhookId: string, limit: number, cursor?: string): Promise<Page<WebhookDelivery>> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.scope.transaction(async (manager, tenantId) => {
      const createdMs = `date_trunc('milliseconds', delivery.created_at)`;
      const query = manager
        .getRepository(WebhookDelivery)
        .createQueryBuilder('delivery')
        .where('delivery.tenantId = :tenantId AND delivery.webhookId = :webhookId', { tenantId, webhookId })
        .orderBy(createdMs, 'DESC')
        .addOrderBy('delivery.id', 'DESC')
        .take(limit + 1);
      if (after)
        query.andWhere(`(${createdMs}, delivery.id) < (CAST(:at AS timestamptz), CAST(:id AS uuid))`, {
          at: after.at,
          id: after.id,
        });
      return pageOf(await query.getMany(), limit, (last) => ({ at: last.createdAt.toISOString(), id: last.id }));
    });
  }

  async findById(webhookId: string, id: string): Promise<WebhookDelivery | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager.findOneBy(WebhookDelivery, { id, webhookId, tenantId }),
    );
  }

  async head(webhookId: string, accountId: string): Promise<WebhookDeliveryHead | null> {
    const [row] = await this.scope.query<HeadRow>((tenantId) => ({
      sql: `SELECT "id", "webhook_id", "account_id", "next_attempt_at" FROM "webhook_deliveries"
             WHERE "tenant_id" = :tenantId AND "webhook_id" = :webhookId AND "account_id" = :accountId AND "status" = 'pending'
             ORDER BY "seq" LIMIT 1`,
      parameters: { tenantId, webhookId, accountId },
    }));
    return row ? headOf(row) : null;
  }

  /**
   * The head of every (webhook, account) of the current tenant that has pending deliveries, for
   * active webhooks (an inactive one keeps its pending deliveries until it is activated again);
   * `webhookId` narrows it to one webhook.
   */
  async heads(webhookId?: string): Promise<WebhookDeliveryHead[]> {
    const rows = await this.scope.query<HeadRow>((tenantId) => ({
      sql: `SELECT DISTINCT ON ("delivery"."webhook_id", "delivery"."account_id")
                   "delivery"."id", "delivery"."webhook_id", "delivery"."account_id", "delivery"."next_attempt_at"
              FROM "webhook_deliveries" "delivery"
              JOIN "webhooks" "webhook" ON "webhook"."id" = "delivery"."webhook_id" AND "webhook"."tenant_id" = :tenantId
             WHERE "delivery"."tenant_id" = :tenantId AND "delivery"."status" = 'pending' AND "webhook"."active"
               ${webhookId ? 'AND "delivery"."webhook_id" = :webhookId' : ''}
             ORDER BY "delivery"."webhook_id", "delivery"."account_id", "delivery"."seq"`,
      parameters: { tenantId, webhookId },
    }));
    return rows.map(headOf);
  }

  /** Heads of active webhooks due before `dueBefore` that no attempt holds. */
  async unclaimedHeadsDueBefore(dueBefore: Date): Promise<WebhookDeliveryHead[]> {
    const rows = await this.scope.query<HeadRow>((tenantId) => ({
      sql: `SELECT "head"."id", "head"."webhook_id", "head"."account_id", "head"."next_attempt_at"
              FROM (SELECT DISTINCT ON ("delivery"."webhook_id", "delivery"."account_id") "delivery".*
                      FROM "webhook_deliveries" "delivery"
                      JOIN "webhooks" "webhook" ON "webhook"."id" = "delivery"."webhook_id" AND "webhook"."tenant_id" = :tenantId
                     WHERE "delivery"."tenant_id" = :tenantId AND "delivery"."status" = 'pending' AND "webhook"."active"
                     ORDER BY "delivery"."webhook_id", "delivery"."account_id", "delivery"."seq") "head"
             WHERE "head"."next_attempt_at" < :dueBefore AND ("head"."claimed_until" IS NULL OR "head"."claimed_until" < now())`,
      parameters: { tenantId, dueBefore },
    }));
    return rows.map(headOf);
  }

  /** Holds a pending delivery for `leaseMs` unless a live attempt holds it; null when it is not (or no longer) to be sent. */
  async claim(id: string, leaseMs: number): Promise<WebhookDelivery | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [rows]: [Record<string, unknown>[], number] = await manager.query(
        `UPDATE "webhook_deliveries" SET "claimed_until" = now() + make_interval(secs => $3), "updated_at" = now()
          WHERE "id" = $1 AND "tenant_id" = $2 AND "status" = 'pending' AND ("claimed_until" IS NULL OR "claimed_until" < now())
          RETURNING *`,
        [id, tenantId, leaseMs / 1000],
      );
      const [row] = rows;
      return row ? entityFromRow(manager, WebhookDelivery, row) : null;
    });
  }

  /** The event name an attempt settled on (a send's `updated` becomes `send.sent` or `send.failed`). */
  async setType(id: string, type: string): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "webhook_deliveries" SET "type" = :type, "updated_at" = now() WHERE "id" = :id AND "tenant_id" = :tenantId`,
      parameters: { id, tenantId, type },
    }));
  }

  /** Whether another delivery of the webhook already carried `type` for the entity (a send reaches `sent` once). */
  async hasOtherOfType(webhookId: string, entityId: string, type: string, exceptId: string): Promise<boolean> {
    const rows = await this.scope.query((tenantId) => ({
      sql: `SELECT 1 FROM "webhook_deliveries"
             WHERE "tenant_id" = :tenantId AND "webhook_id" = :webhookId AND "entity_id" = :entityId AND "type" = :type
               AND "id" <> :exceptId AND "status" IN ('pending', 'delivered', 'failed')
             LIMIT 1`,
      parameters: { tenantId, webhookId, entityId, type, exceptId },
    }));
    return rows.length > 0;
  }

  /** Removes the tenant's settled deliveries (delivered, failed, skipped) last touched before `before`; pending ones stay. */
  async pruneSettledBefore(before: Date): Promise<number> {
    const [row] = await this.scope.query<{ pruned: string }>((tenantId) => ({
      sql: `WITH gone AS (
              DELETE FROM "webhook_deliveries"
               WHERE "tenant_id" = :tenantId AND "status" <> 'pending' AND "updated_at" < :before
               RETURNING 1
            )
            SELECT count(*) AS "pruned" FROM gone`,
      parameters: { tenantId, before },
    }));
    return Number(row?.pruned ?? 0);
  }

  async markSkipped(id: string, reason: string): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "webhook_deliveries" SET "status" = 'skipped', "error" = :reason, "claimed_until" = NULL, "updated_at" = now()
             WHERE "id" = :id AND "tenant_id" = :tenantId`,
      parameters: { id, tenantId, reason },
    }));
  }

  async markDelivered(id: string, result: WebhookAttemptResult): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "webhook_deliveries"
               SET "status" = 'delivered', "attempts" = "attempts" + 1, "first_attempt_at" = COALESCE("first_attempt_at", now()),
                   "last_attempt_at" = now(), "delivered_at" = now(), "response_status" = :responseStatus,
                   "duration_ms" = :durationMs, "error" = NULL, "claimed_until" = NULL, "updated_at" = now()
             WHERE "id" = :id AND "tenant_id" = :tenantId`,
      parameters: { id, tenantId, responseStatus: result.responseStatus, durationMs: result.durationMs },
    }));
  }

  /** A failed attempt to be retried at `nextAttemptAt`. */
  async markRetry(id: string, result: WebhookAttemptResult, nextAttemptAt: Date): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "webhook_deliveries"
               SET "attempts" = "attempts" + 1, "first_attempt_at" = COALESCE("first_attempt_at", now()),
                   "last_attempt_at" = now(), "next_attempt_at" = :nextAttemptAt, "response_status" = :responseStatus,
                   "duration_ms" = :durationMs, "error" = :error, "claimed_until" = NULL, "updated_at" = now()
             WHERE "id" = :id AND "tenant_id" = :tenantId`,
      parameters: { id, tenantId, nextAttemptAt, ...result },
    }));
  }

  /** The last attempt of the retry window failed: the delivery fails and its webhook is disabled with `reason`, together. */
  async failAndDisable(id: string, result: WebhookAttemptResult, webhookId: string, reason: string): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE "webhook_deliveries"
            SET "status" = 'failed', "attempts" = "attempts" + 1, "first_attempt_at" = COALESCE("first_attempt_at", now()),
                "last_attempt_at" = now(), "response_status" = $3, "duration_ms" = $4, "error" = $5,
                "claimed_until" = NULL, "updated_at" = now()
          WHERE "id" = $1 AND "tenant_id" = $2`,
        [id, tenantId, result.responseStatus, result.durationMs, result.error],
      );
      await manager.update(
        Webhook,
        { id: webhookId, tenantId },
        { active: false, disabledReason: reason, disabledAt: new Date() },
      );
    });
  }

  /**
   * Puts a delivery back in line for a fresh round of attempts (its retry window starts again);
   * it goes out once the deliveries before it in the change log are settled. Null when there is none.
   */
  async redeliver(webhookId: string, id: string): Promise<WebhookDelivery | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [rows]: [Record<string, unknown>[], number] = await manager.query(
        `UPDATE "webhook_deliveries"
            SET "status" = 'pending', "attempts" = 0, "first_attempt_at" = NULL, "next_attempt_at" = now(),
                "claimed_until" = NULL, "error" = NULL, "updated_at" = now()
          WHERE "id" = $1 AND "webhook_id" = $2 AND "tenant_id" = $3
          RETURNING *`,
        [id, webhookId, tenantId],
      );
      const [row] = rows;
      return row ? entityFromRow(manager, WebhookDelivery, row) : null;
    });
  }
}
