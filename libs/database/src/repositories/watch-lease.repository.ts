import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import type { WatchState } from '../entities/account-watch-lease.entity.js';

/** A lease this replica holds, with what the watcher needs to decide whether to act on it again. */
export interface HeldWatchLease {
  accountId: string;
  state: WatchState;
  since: Date;
  /** Changes whenever the account row is saved (new password, reactivation, a sync's outcome). */
  accountUpdatedAt: Date;
}

export interface WatchStatus {
  state: WatchState;
  since: Date;
  lastEventAt: Date | null;
  lastError: string | null;
}

const LEASE_COLUMNS = `l."account_id" AS "accountId", l."state", l."since", a."updated_at" AS "accountUpdatedAt"`;

/**
 * Claims on watching the accounts of the current tenant, one row per account. A claim is held by
 * one replica (`owner`) until `expires_at`; the holder renews it with a heartbeat, and any
 * replica may take it once it expired. The watcher goes tenant by tenant (the tenants registry
 * is the one cross-tenant read), so every statement here runs in one tenant's scope.
 */
@Injectable()
export class WatchLeaseRepository {
  constructor(private readonly scope: TenantScope) {}

  /**
   * Extends this replica's unexpired claims on accounts that are still active and answers them.
   * A claim that expired is not renewed: another replica may hold it already.
   */
  async renew(owner: string, leaseMs: number): Promise<HeldWatchLease[]> {
    return this.scope.query<HeldWatchLease>((tenantId) => ({
      sql: `UPDATE "account_watch_leases" l SET "expires_at" = now() + make_interval(secs => :seconds)
            FROM "mail_accounts" a
            WHERE l."tenant_id" = :tenantId AND l."owner" = :owner AND l."expires_at" > now()
              AND a."id" = l."account_id" AND a."tenant_id" = :tenantId AND a."active" AND a."auth_state" = 'valid'
            RETURNING ${LEASE_COLUMNS}`,
      parameters: { tenantId, owner, seconds: leaseMs / 1000 },
    }));
  }

  /**
   * Takes up to `limit` active accounts nobody holds (no claim yet, or an expired one). With
   * `unclaimedForMs`, only those left unclaimed that long: a replica without room for more IDLE
   * connections leaves the others to replicas that have room. Replicas claiming at once never
   * take the same account: the conflicting insert re-checks the expiry on the locked row.
   */
  async claim(owner: string, leaseMs: number, limit: number, unclaimedForMs = 0): Promise<HeldWatchLease[]> {
    if (limit <= 0) return [];
    return this.scope.query<HeldWatchLease>((tenantId) => ({
      sql: `WITH claimed AS (
              INSERT INTO "account_watch_leases" ("account_id", "tenant_id", "owner", "expires_at", "state", "since")
              SELECT a."id", a."tenant_id", :owner, now() + make_interval(secs => :seconds), 'off', now()
              FROM "mail_accounts" a
              LEFT JOIN "account_watch_leases" l ON l."account_id" = a."id" AND l."tenant_id" = :tenantId
              WHERE a."tenant_id" = :tenantId AND a."active" AND a."auth_state" = 'valid'
                AND ((l."account_id" IS NULL AND a."created_at" <= now() - make_interval(secs => :unclaimedFor))
                  OR l."expires_at" <= now() - make_interval(secs => :unclaimedFor))
              ORDER BY random()
              LIMIT :limit
              ON CONFLICT ("account_id") DO UPDATE SET "owner" = EXCLUDED."owner", "expires_at" = EXCLUDED."expires_at"
                WHERE "account_watch_leases"."expires_at" <= now() - make_interval(secs => :unclaimedFor)
              RETURNING "account_id", "state", "since"
            )
            SELECT c."account_id" AS "accountId", c."state", c."since", a."updated_at" AS "accountUpdatedAt"
            FROM claimed c JOIN "mail_accounts" a ON a."id" = c."account_id" AND a."tenant_id" = :tenantId`,
      parameters: { tenantId, owner, seconds: leaseMs / 1000, unclaimedFor: unclaimedForMs / 1000, limit },
    }));
  }

  /** Sets the watch state of a held claim; `since` moves only when the state changes. */
  async setState(owner: string, accountId: string, state: WatchState, lastError: string | null): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "account_watch_leases"
            SET "since" = CASE WHEN "state" = :state THEN "since" ELSE now() END, "state" = :state, "last_error" = :lastError
            WHERE "tenant_id" = :tenantId AND "account_id" = :accountId AND "owner" = :owner`,
      parameters: { tenantId, accountId, owner, state, lastError },
    }));
  }

  async recordEvent(owner: string, accountId: string): Promise<void> {
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "account_watch_leases" SET "last_event_at" = now()
            WHERE "tenant_id" = :tenantId AND "account_id" = :accountId AND "owner" = :owner`,
      parameters: { tenantId, accountId, owner },
    }));
  }

  /** Gives claims up at once (shutdown, deactivation), so another replica need not wait for them to expire. */
  async release(owner: string, accountIds: readonly string[]): Promise<void> {
    if (accountIds.length === 0) return;
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "account_watch_leases" SET "owner" = NULL, "expires_at" = now()
            WHERE "tenant_id" = :tenantId AND "owner" = :owner AND "account_id" = ANY(CAST(:accountIds AS uuid[]))`,
      parameters: { tenantId, owner, accountIds },
    }));
  }

  async findStatus(accountId: string): Promise<WatchStatus | null> {
    const rows = await this.scope.query<WatchStatus>((tenantId) => ({
      sql: `SELECT "state", "since", "last_event_at" AS "lastEventAt", "last_error" AS "lastError"
            FROM "account_watch_leases" WHERE "tenant_id" = :tenantId AND "account_id" = :accountId`,
      parameters: { tenantId, accountId },
    }));
    return rows[0] ?? null;
  }
}
