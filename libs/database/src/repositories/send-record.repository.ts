import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, IsNull, Not } from 'typeorm';

import { MailAccount } from '../entities/mail-account.entity.js';
import { SendRecord } from '../entities/send-record.entity.js';
import type { SendContent, SendState } from '../entities/send-record.entity.js';
import { entityFromRow } from './entity-from-row.js';

export interface NewSendRecord {
  accountId: string;
  draftId: string | null;
  messageId: string;
  content: SendContent;
  /** Hold the send until then (a scheduled send, the undo window); absent or null: at once. */
  sendAt?: Date | null;
}

/** A send to create, with the Idempotency-Key that guards it (if any) and the request it came from. */
export interface IdempotentSendRecord {
  values: NewSendRecord;
  idempotencyKey: string | null;
  requestFingerprint: string | null;
}

export interface SendRecordCreation {
  record: SendRecord;
  /** False when an earlier request with the same Idempotency-Key (or the same draft) already created it. */
  created: boolean;
}

export interface ClaimedAttempt {
  record: SendRecord;
  /** With its encrypted password; null when the account no longer exists. */
  account: MailAccount | null;
}

/** The server's reply to a message it accepted; `sentCopyFiled` when the provider files the Sent copy itself. */
export interface SmtpAcceptanceRecord {
  id: string;
  response: string;
  sentCopyFiled: boolean;
}

/** A send record waiting for its job: queued (held until `nextAttemptAt`: its send time or a retry), left `sending` past its claim, or accepted with its Sent copy not filed. */
export interface SendAwaitingJob {
  id: string;
  nextAttemptAt: Date | null;
}

/** Account columns of a claim's rows carry this prefix, apart from the record's own. */
const ACCOUNT_PREFIX = 'account.';

/** States in which a send ended without leaving: they neither hold a draft nor its attachments. */
const ENDED_UNSENT: SendState[] = ['failed', 'cancelled'];

/** How long an Idempotency-Key stays bound to the send it first created. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

/**
 * Send records of the current tenant and the transitions of their state machine
 * (queued → sending → sent | failed). Each transition is one conditional UPDATE, so two workers
 * holding the same job after a stall cannot both move a record forward.
 */
@Injectable()
export class SendRecordRepository {
  /** Every column of the account, the encrypted password included; a claim selects them named with ACCOUNT_PREFIX. */
  private readonly accountColumnNames: { name: string; alias: string }[];
  private readonly accountColumns: string;

  constructor(
    private readonly scope: TenantScope,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.accountColumnNames = dataSource
      .getMetadata(MailAccount)
      .columns.map(({ databaseName }) => ({ name: databaseName, alias: `${ACCOUNT_PREFIX}${databaseName}` }));
    this.accountColumns = this.accountColumnNames
      .map(({ name, alias }) => `"account"."${name}" AS "${alias}"`)
      .join(', ');
  }

  /**
   * Inserts the record unless the tenant already has one for `idempotencyKey` within the window.
   * The unique (tenant_id, idempotency_key) constraint settles concurrent requests: the losers'
   * INSERT ... ON CONFLICT DO NOTHING waits for the winner's commit, inserts nothing, and they
   * read the winner's row. A key older than the window is released and the insert tried again.
   *
   * The common case, a new key, is one statement in one round trip (TenantScope.query): the new
   * row is built from the values and what the INSERT returns, not read back. Only a conflict
   * opens a transaction, which inserts again (the holder may have rolled back meanwhile),
   * releases a stale key, or reads the record that holds it.
   */
  async createIdempotent(
    values: NewSendRecord,
    idempotencyKey: string | null,
    requestFingerprint: string | null = null,
  ): Promise<SendRecordCreation> {
    const request: IdempotentSendRecord = { values, idempotencyKey, requestFingerprint };
    const insert = async (): Promise<SendRecord | null> => (await this.insertNew([request]))[0] ?? null;

    const created = await insert();
    if (created) return { record: created, created: true };
    return this.scope.transaction(async (manager, tenantId) => {
      const createdAfterConflict = await insert();
      if (createdAfterConflict) return { record: createdAfterConflict, created: true };
      // TypeORM answers an UPDATE with [rows, affected count].
      const [released]: [{ id: string }[], number] = await manager.query(
        `UPDATE "send_records" SET "idempotency_key" = NULL
          WHERE "tenant_id" = $1 AND "idempotency_key" = $2 AND "created_at" < now() - make_interval(hours => $3)
          RETURNING "id"`,
        [tenantId, idempotencyKey, IDEMPOTENCY_WINDOW_HOURS],
      );
      const afterRelease = released.length > 0 ? await insert() : null;
      if (afterRelease) return { record: afterRelease, created: true };
      const existing = await manager.findOneBy(SendRecord, { tenantId, idempotencyKey: idempotencyKey ?? undefined });
      if (!existing) throw new Error('idempotent insert conflicted but no record holds the key');
      return { record: existing, created: false };
    });
  }

  /**
   * createIdempotent for several requests: the new keys in one statement, a request whose key is
   * taken (also by another request of the same call) then as createIdempotent on its own.
   * Answers the requests in order.
   */
  async createManyIdempotent(requests: readonly IdempotentSendRecord[]): Promise<SendRecordCreation[]> {
    const inserted = await this.insertNew(requests);
    const creations: SendRecordCreation[] = [];
    for (const [index, request] of requests.entries()) {
      const record = inserted[index];
      creations.push(
        record
          ? { record, created: true }
          : await this.createIdempotent(request.values, request.idempotencyKey, request.requestFingerprint),
      );
    }
    return creations;
  }

  /**
   * One INSERT ... ON CONFLICT DO NOTHING for the requests, answering each with its new record, or
   * null when its key was taken. Rows are matched to requests by Message-ID, unique per send.
   */
  private async insertNew(requests: readonly IdempotentSendRecord[]): Promise<(SendRecord | null)[]> {
    const rows = await this.scope.query<{
      id: string;
      tenant_id: string;
      message_id: string;
      created_at: Date;
      updated_at: Date;
    }>((tenantId) => ({
      sql: `INSERT INTO "send_records" ("tenant_id", "account_id", "draft_id", "idempotency_key", "request_fingerprint", "state", "message_id", "content", "send_at")
            SELECT CAST(:tenantId AS text), "account_id", "draft_id", "idempotency_key", "request_fingerprint", 'queued', "message_id", "content", "send_at"
              FROM unnest(CAST(:accountIds AS uuid[]), CAST(:draftIds AS uuid[]), CAST(:idempotencyKeys AS text[]), CAST(:requestFingerprints AS text[]),
                          CAST(:messageIds AS text[]), CAST(:contents AS jsonb[]), CAST(:sendAts AS timestamptz[]))
                   AS "request"("account_id", "draft_id", "idempotency_key", "request_fingerprint", "message_id", "content", "send_at")
            ON CONFLICT ON CONSTRAINT "uq_send_records_idempotency" DO NOTHING
            RETURNING "id", "tenant_id", "message_id", "created_at", "updated_at"`,
      parameters: {
        tenantId,
        accountIds: requests.map((request) => request.values.accountId),
        draftIds: requests.map((request) => request.values.draftId),
        idempotencyKeys: requests.map((request) => request.idempotencyKey),
        requestFingerprints: requests.map((request) => request.requestFingerprint),
        messageIds: requests.map((request) => request.values.messageId),
        contents: requests.map((request) => JSON.stringify(request.values.content)),
        sendAts: requests.map((request) => request.values.sendAt?.toISOString() ?? null),
      },
    }));
    const byMessageId = new Map(rows.map((row) => [row.message_id, row]));
    return requests.map(({ values, idempotencyKey, requestFingerprint }) => {
      const row = byMessageId.get(values.messageId);
      if (!row) return null;
      return this.dataSource.manager.create(SendRecord, {
        ...values,
        sendAt: values.sendAt ?? null,
        cancelledAt: null,
        id: row.id,
        tenantId: row.tenant_id,
        idempotencyKey,
        requestFingerprint,
        state: 'queued',
        attempts: 0,
        lastResponse: null,
        claimedUntil: null,
        nextAttemptAt: null,
        smtpAcceptedAt: null,
        sentCopyAppendedAt: null,
        sentAt: null,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      });
    });
  }

  /** Binds a key to an existing send that has none, unless the key already names another send. */
  async attachIdempotencyKey(
    id: string,
    idempotencyKey: string,
    requestFingerprint: string | null = null,
  ): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "send_records" SET "idempotency_key" = $3, "request_fingerprint" = $4
          WHERE "id" = $1 AND "tenant_id" = $2 AND "idempotency_key" IS NULL
            AND NOT EXISTS (SELECT 1 FROM "send_records" WHERE "tenant_id" = $2 AND "idempotency_key" = $3)`,
        [id, tenantId, idempotencyKey, requestFingerprint],
      ),
    );
  }

  /** The send an Idempotency-Key created within the window, if any. */
  async findByIdempotencyKey(idempotencyKey: string): Promise<SendRecord | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager
        .getRepository(SendRecord)
        .createQueryBuilder('record')
        .where('record.tenantId = :tenantId AND record.idempotencyKey = :idempotencyKey', { tenantId, idempotencyKey })
        .andWhere(`record.createdAt >= now() - make_interval(hours => :hours)`, { hours: IDEMPOTENCY_WINDOW_HOURS })
        .getOne(),
    );
  }

  async findById(id: string): Promise<SendRecord | null> {
    return this.scope.transaction((manager, tenantId) => manager.findOneBy(SendRecord, { id, tenantId }));
  }

  /** The send of a draft that is queued, in progress or done; a failed or cancelled one does not block sending again. */
  async findLiveForDraft(draftId: string): Promise<SendRecord | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager.findOne(SendRecord, {
        where: { tenantId, draftId, state: Not(In(ENDED_UNSENT)) },
        order: { createdAt: 'DESC' },
      }),
    );
  }

  /**
   * Stops a send that has not left: queued (held until `sendAt`, or waiting for a worker or for a
   * retry) → cancelled, in one conditional UPDATE. A worker's claim is the same kind of update on
   * the same row, so exactly one of the two wins; the loser's WHERE no longer matches. Null when
   * the record is not queued (any more): the caller reads it to tell why.
   */
  async cancelQueued(id: string): Promise<SendRecord | null> {
    const rows = await this.scope.query<Record<string, unknown>>((tenantId) => ({
      sql: `UPDATE "send_records"
               SET "state" = 'cancelled', "cancelled_at" = now(), "next_attempt_at" = NULL, "updated_at" = now()
             WHERE "id" = :id AND "tenant_id" = :tenantId AND "state" = 'queued' AND "smtp_accepted_at" IS NULL
             RETURNING *`,
      parameters: { id, tenantId },
    }));
    const row = rows[0];
    return row ? entityFromRow(this.dataSource.manager, SendRecord, row) : null;
  }

  /**
   * Starts an SMTP attempt for each record: queued (or sending, left by a worker whose claim
   * expired) → sending, attempts + 1, claimed for `leaseMs`, returning the claimed records in the
   * same statement, each with its account (encrypted password included; null when the account is
   * gone), which every attempt needs next to connect. A record that is gone, finished, already
   * accepted by the server or claimed by a live attempt is absent from the result: two jobs of one
   * record (a stalled job run again, a lost job enqueued again) never hold it at once. The new
   * `attempts` is the claim's token: the attempt's own failure is recorded only while it holds it.
   *
   * `alsoAccepted` are the messages the server took, recorded first in the same statement, so the
   * writes of the sends a worker has in flight share one round trip: from then on none of them is
   * handed to SMTP again, and `sentCopyFiled` says the provider files the Sent copy itself. A
   * record accepted there is not claimed by the same statement.
   */
  async claimAttempts(
    ids: readonly string[],
    leaseMs: number,
    alsoAccepted: readonly SmtpAcceptanceRecord[] = [],
  ): Promise<Map<string, ClaimedAttempt>> {
    const rows = await this.acceptAndClaim(alsoAccepted, ids, leaseMs);
    const manager = this.dataSource.manager;
    const claimed = rows.map((row): ClaimedAttempt => {
      const accountRow: Record<string, unknown> = {};
      for (const { name, alias } of this.accountColumnNames) accountRow[name] = row[alias];
      return {
        record: entityFromRow(manager, SendRecord, row),
        account: accountRow.id === null ? null : entityFromRow(manager, MailAccount, accountRow),
      };
    });
    return new Map(claimed.map((attempt) => [attempt.record.id, attempt]));
  }

  /** One statement: the acceptances, then the claims (rows with their account's columns) of records not accepted in it. */
  private async acceptAndClaim(
    acceptances: readonly SmtpAcceptanceRecord[],
    claimIds: readonly string[],
    leaseMs: number,
  ): Promise<Record<string, unknown>[]> {
    return this.scope.query<Record<string, unknown>>((tenantId) => ({
      sql: `WITH "accepted" AS (
              UPDATE "send_records" o
                 SET "state" = 'sent', "smtp_accepted_at" = now(), "sent_at" = now(), "last_response" = accepted.response, "updated_at" = now(),
                     "sent_copy_appended_at" = CASE WHEN accepted.sent_copy_filed THEN now() ELSE o."sent_copy_appended_at" END
                FROM unnest(CAST(:acceptedIds AS uuid[]), CAST(:responses AS text[]), CAST(:sentCopyFiled AS boolean[])) AS accepted(id, response, sent_copy_filed)
               WHERE o."id" = accepted.id AND o."tenant_id" = :tenantId AND o."smtp_accepted_at" IS NULL
               RETURNING o."id"),
            -- Driven by the ids, like the acceptances: each record is looked up by key, whatever the
            -- statistics of a table that churns this fast say about its other rows.
            "claimed" AS (
              UPDATE "send_records" o
                 SET "state" = 'sending', "attempts" = o."attempts" + 1, "updated_at" = now(), "next_attempt_at" = NULL,
                     "claimed_until" = now() + make_interval(secs => CAST(:leaseSeconds AS double precision))
                FROM unnest(CAST(:claimIds AS uuid[])) AS claim(id)
               WHERE o."id" = claim.id AND o."id" <> ALL(CAST(:acceptedIds AS uuid[]))
                 AND o."tenant_id" = :tenantId AND o."smtp_accepted_at" IS NULL
                 AND ((o."state" = 'queued' AND (o."send_at" IS NULL OR o."send_at" <= now()))
                      OR (o."state" = 'sending' AND (o."claimed_until" IS NULL OR o."claimed_until" < now())))
               RETURNING o.*)
            SELECT "claimed".*, ${this.accountColumns}
              FROM "claimed" LEFT JOIN "mail_accounts" "account" ON "account"."id" = "claimed"."account_id" AND "account"."tenant_id" = "claimed"."tenant_id"`,
      parameters: {
        acceptedIds: acceptances.map((item) => item.id),
        responses: acceptances.map((item) => item.response),
        sentCopyFiled: acceptances.map((item) => item.sentCopyFiled),
        claimIds,
        leaseSeconds: leaseMs / 1000,
        tenantId,
      },
    }));
  }

  /**
   * A transient failure of the attempt holding claim `attempt`: back to queued until the retry is
   * due at `retryAt`, with the server's words kept for the client. An attempt whose claim was
   * taken over changes nothing.
   */
  async markRetrying(id: string, attempt: number, response: string, retryAt: Date): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(
        SendRecord,
        { id, tenantId, state: 'sending', attempts: attempt, smtpAcceptedAt: IsNull() },
        { state: 'queued', lastResponse: response, nextAttemptAt: retryAt, claimedUntil: null },
      ),
    );
  }

  /** A permanent failure of the attempt holding claim `attempt`; one whose claim was taken over changes nothing. */
  async markFailed(id: string, attempt: number, response: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(
        SendRecord,
        { id, tenantId, state: 'sending', attempts: attempt, smtpAcceptedAt: IsNull() },
        { state: 'failed', lastResponse: response, claimedUntil: null },
      ),
    );
  }

  /**
   * The current tenant's records that wait for a job to move them on: queued (also until a retry
   * is due), `sending` past their claim (the worker died), or accepted with the Sent copy still
   * to file. No index serves this: one would have to cover `state`, which every send changes
   * three times, and cost each send more than this read of the tenant's rows per reconciliation.
   */
  async findAwaitingJob(): Promise<SendAwaitingJob[]> {
    const rows = await this.scope.query<{ id: string; next_attempt_at: Date | null }>((tenantId) => ({
      sql: `SELECT "id", GREATEST("next_attempt_at", "send_at") AS "next_attempt_at" FROM "send_records"
             WHERE "tenant_id" = :tenantId
               AND ("state" = 'queued'
                    OR ("state" = 'sending' AND ("claimed_until" IS NULL OR "claimed_until" < now()))
                    OR ("state" IN ('sent', 'bounced') AND "sent_copy_appended_at" IS NULL))
             ORDER BY "created_at"`,
      parameters: { tenantId },
    }));
    return rows.map((row) => ({ id: row.id, nextAttemptAt: row.next_attempt_at }));
  }

  async markSentCopyFiled(id: string): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.update(SendRecord, { id, tenantId, sentCopyAppendedAt: IsNull() }, { sentCopyAppendedAt: () => 'now()' }),
    );
  }
}
