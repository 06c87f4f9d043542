import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

/** What changed: the five kinds clients follow, plus the account and sync events webhooks carry. */
export type ChangeType = 'message' | 'folder' | 'thread' | 'draft' | 'send' | 'account' | 'sync';
export type ChangeOp = 'created' | 'updated' | 'deleted' | 'completed' | 'error' | 'reauth_required';

export interface ChangeEntry {
  seq: number;
  type: ChangeType;
  entityId: string;
  op: ChangeOp;
  at: Date;
}

/** Where an account's log stands: its last sequence number and the highest retention has deleted. */
export interface ChangeLogPosition {
  lastSeq: number;
  prunedThrough: number;
}

interface ChangeRow {
  seq: string;
  type: ChangeType;
  entity_id: string;
  op: ChangeOp;
  at: Date;
}

/**
 * Reads of the per-account change log. Nothing here writes it: triggers on the tracked tables
 * stage each change in the writing transaction and number it at commit (migration ChangeLog),
 * so an account's sequence numbers become visible in order and `seq > cursor` never skips one.
 */
@Injectable()
export class ChangeLogRepository {
  constructor(private readonly scope: TenantScope) {}

  async position(accountId: string): Promise<ChangeLogPosition> {
    const [row] = await this.scope.query<{ last_seq: string; pruned_through: string }>((tenantId) => ({
      sql: `SELECT "last_seq", "pruned_through" FROM "change_sequences"
            WHERE "tenant_id" = :tenantId AND "account_id" = :accountId`,
      parameters: { tenantId, accountId },
    }));
    return { lastSeq: Number(row?.last_seq ?? 0), prunedThrough: Number(row?.pruned_through ?? 0) };
  }

  /** Changes after `since` in sequence order, at most `limit`; `types` narrows them (all when absent). */
  async listSince(
    accountId: string,
    since: number,
    limit: number,
    types?: readonly ChangeType[],
  ): Promise<ChangeEntry[]> {
    const rows = await this.scope.query<ChangeRow>((tenantId) => ({
      sql: `SELECT "seq", "type", "entity_id", "op", "at" FROM "change_log"
            WHERE "tenant_id" = :tenantId AND "account_id" = :accountId AND "seq" > :since
            ${types ? `AND "type" IN (:...types)` : ''}
            ORDER BY "seq" LIMIT :limit`,
      parameters: { tenantId, accountId, since, limit, ...(types ? { types } : {}) },
    }));
    return rows.map((row) => ({
      seq: Number(row.seq),
      type: row.type,
      entityId: row.entity_id,
      op: row.op,
      at: row.at,
    }));
  }

  /**
   * Deletes the tenant's changes committed before `before` and remembers per account how far the
   * log is gone, so a client whose cursor is older learns it must resync. Returns the rows deleted.
   */
  async pruneBefore(before: Date): Promise<number> {
    const [row] = await this.scope.query<{ pruned: string }>((tenantId) => ({
      sql: `WITH gone AS (
              DELETE FROM "change_log" WHERE "tenant_id" = :tenantId AND "at" < :before
              RETURNING "account_id", "seq"
            ), reach AS (
              SELECT "account_id", max("seq") AS "seq", count(*) AS "rows" FROM gone GROUP BY "account_id"
            ), marked AS (
              UPDATE "change_sequences" s SET "pruned_through" = GREATEST(s."pruned_through", reach."seq")
              FROM reach WHERE s."tenant_id" = :tenantId AND s."account_id" = reach."account_id"
            )
            SELECT COALESCE(sum("rows"), 0) AS "pruned" FROM reach`,
      parameters: { tenantId, before },
    }));
    return Number(row?.pruned ?? 0);
  }
}
