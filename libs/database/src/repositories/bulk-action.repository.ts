import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { BulkActionTooLargeError, MessageActionTargetNotFoundError, MessageScopeNotFoundError } from '../errors.js';
import { BulkAction } from '../entities/bulk-action.entity.js';
import type { BulkActionFailure, BulkActionKind } from '../entities/bulk-action.entity.js';
import type { MessageActionChange } from '../entities/mail-message-action.entity.js';
import type { MessageFilter } from './message-filter.js';
import { compileMessageFilter } from './message-filter.sql.js';
import { GENERATED_COLUMNS, MessageActionRepository, PENDING_UID_VALIDITY } from './message-action.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
/** Failures kept on the record with their reasons; the count covers them all. */
export const BULK_FAILURES_KEPT = 100;
const BUSY_REASON = 'a move or delete of the message was still being applied on the server';
const MISSING_REASON = 'no such message in the account';

const FLAG_OF: Readonly<Record<'seen' | 'unseen' | 'flag' | 'unflag', { flag: string; present: boolean }>> = {
  seen: { flag: '\\Seen', present: true },
  unseen: { flag: '\\Seen', present: false },
  flag: { flag: '\\Flagged', present: true },
  unflag: { flag: '\\Flagged', present: false },
};

/** Which messages a bulk action covers: listed ids, or a search filter (the query language of search). */
export type BulkSelection = { ids: readonly string[] } | { filter: MessageFilter };

export interface NewBulkAction {
  accountId: string;
  action: BulkActionKind;
  /** Destination of a move: a folder id, path or special-use role of the account. */
  folder?: string;
  selection: BulkSelection;
  /** More selected messages than this refuses the request. */
  maxMessages: number;
}

/**
 * An action's place in the order actions are applied, (created_at, id), as text that sorts the
 * same way: created_at has microseconds, which a JavaScript Date would drop.
 */
const ORDER_KEY = `to_char(created_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || id::text`;

interface PendingMember {
  id: string;
  message_id: string;
  folder_id: string;
  uid_validity: string;
  uid: string;
  change: MessageActionChange;
  order_key: string;
}

/** Members that share a source folder and a change: one command on the server applies them all. */
export interface BulkBatch {
  bulkActionId: string;
  accountId: string;
  sourcePath: string | null;
  uidValidity: string;
  change: MessageActionChange;
  targetPath: string | null;
  members: BulkBatchMember[];
}

export interface BulkBatchMember {
  actionId: string;
  messageId: string;
  uid: number;
  /** The Message-ID header, to find a moved message when the server does not report its new UID. */
  messageIdHeader: string | null;
}

export interface BulkMemberOutcome {
  actionId: string;
  /** Refused by the server: the member is undone with this reason. */
  refused?: string;
  /** Where a moved member now is on the server. */
  placed?: { uidValidity: string; uid: number };
}

/** Applying a bulk action: its next batch, or why there is none. */
export type NextBulkBatch =
  | { state: 'batch'; batch: BulkBatch }
  /** Every remaining member waits for an earlier action of its message. */
  | { state: 'waiting' }
  | { state: 'finished' };

export interface UnfinishedBulkAction {
  id: string;
  accountId: string;
}

/**
 * Bulk flag changes, moves and deletes. Accepting one fixes its members and changes them all in
 * PostgreSQL at once, exactly as the single-message actions would one by one (each member is a
 * pending message action naming the bulk record); the worker then settles the members a batch at
 * a time, counting them on the record in the batch's transaction.
 */
@Injectable()
export class BulkActionRepository {
  constructor(
    private readonly scope: TenantScope,
    private readonly actions: MessageActionRepository,
  ) {}

  async create(request: NewBulkAction): Promise<BulkAction> {
    return this.scope.transaction(async (manager, tenantId) => {
      const { accountId, action } = request;
      const [account] = await manager.query<unknown[]>(`SELECT 1 FROM mail_accounts WHERE tenant_id = $1 AND id = $2`, [
        tenantId,
        accountId,
      ]);
      if (!account) throw new MessageScopeNotFoundError('account');
      let target: { id: string } | null = null;
      if (action === 'move') {
        target = await this.findFolder(manager, tenantId, accountId, request.folder ?? '');
        if (!target) throw new MessageActionTargetNotFoundError('folder');
      }

      const selected = await this.lockSelected(manager, tenantId, request);
      const missing =
        'ids' in request.selection
          ? [...new Set(request.selection.ids)].filter((id) => !selected.some((row) => row.id === id))
          : [];
      const busy = selected.filter((row) => row.busy).map((row) => row.id);
      const free = selected.filter((row) => !row.busy).map((row) => row.id);
      const failures: BulkActionFailure[] = [
        ...missing.map((messageId) => ({ messageId, reason: MISSING_REASON })),
        ...busy.map((messageId) => ({ messageId, reason: BUSY_REASON })),
      ];

      const [record] = await manager.query<{ id: string }[]>(
        `INSERT INTO bulk_actions (tenant_id, account_id, action, target_folder_id, total, failed, failures)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [
          tenantId,
          accountId,
          action,
          target?.id ?? null,
          missing.length + selected.length,
          failures.length,
          JSON.stringify(failures.slice(0, BULK_FAILURES_KEPT)),
        ],
      );
      if (!record) throw new Error('bulk action was not recorded');
      const changed = await this.changeMembers(manager, tenantId, record.id, action, free, target, accountId);
      // Members already as asked count as done; with nothing left to apply the record is finished now.
      await manager.query(
        `UPDATE bulk_actions SET done = $3,
           state = CASE WHEN $4::int = 0 THEN 'completed' ELSE state END,
           finished_at = CASE WHEN $4::int = 0 THEN now() ELSE NULL END
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, record.id, free.length - changed, changed],
      );
      return this.findIn(manager, tenantId, record.id) as Promise<BulkAction>;
    });
  }

  async findById(id: string): Promise<BulkAction | null> {
    if (!UUID.test(id)) return null;
    return this.scope.transaction((manager, tenantId) => this.findIn(manager, tenantId, id));
  }

  /** The job picked the record up; a finished one stays as it is. */
  async markRunning(id: string): Promise<BulkAction | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE bulk_actions SET state = 'running', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'queued'`,
        [tenantId, id],
      );
      return this.findIn(manager, tenantId, id);
    });
  }

  /**
   * The lowest UIDs of one source folder still pending, at most `limit`, that share a change.
   * A member whose message has an earlier pending action (a single action requested before the
   * bulk) waits for it, as single actions of one message wait for each other.
   *
   * Each statement reads one table by one index: the member rows were inserted just now, before
   * any ANALYZE, and a join the planner costs from such statistics (an anti-join of the members
   * against every pending action) ran as a nested loop of 10,000 × 10,000 rows.
   */
  async nextBatch(id: string, limit: number): Promise<NextBulkBatch> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [record] = await manager.query<{ account_id: string }[]>(
        `SELECT account_id FROM bulk_actions WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      if (!record) return { state: 'finished' };
      const members = await manager.query<PendingMember[]>(
        `SELECT id, message_id, origin->>'folderId' AS folder_id, origin->>'uidValidity' AS uid_validity,
                (origin->>'uid')::bigint AS uid, change, ${ORDER_KEY} AS order_key
         FROM mail_message_actions WHERE tenant_id = $1 AND bulk_action_id = $2 AND state = 'pending'`,
        [tenantId, id],
      );
      if (members.length === 0) return { state: 'finished' };
      // Pending actions of the account outside this bulk: single actions in flight, other bulks.
      const others = await manager.query<{ message_id: string; order_key: string }[]>(
        `SELECT message_id, ${ORDER_KEY} AS order_key FROM mail_message_actions
         WHERE tenant_id = $1 AND account_id = $3 AND state = 'pending' AND bulk_action_id IS DISTINCT FROM $2`,
        [tenantId, id, record.account_id],
      );
      const earliestOther = new Map<string, string>();
      for (const other of others) {
        const known = earliestOther.get(other.message_id);
        if (known === undefined || other.order_key < known) earliestOther.set(other.message_id, other.order_key);
      }
      const ready = members
        .filter((member) => {
          const other = earliestOther.get(member.message_id);
          return other === undefined || other > member.order_key;
        })
        .sort((a, b) =>
          a.folder_id === b.folder_id ? Number(a.uid) - Number(b.uid) : a.folder_id < b.folder_id ? -1 : 1,
        );
      const [first] = ready;
      if (!first) return { state: 'waiting' };
      const change = JSON.stringify(first.change);
      const batch = ready
        .filter(
          (member) =>
            member.folder_id === first.folder_id &&
            member.uid_validity === first.uid_validity &&
            JSON.stringify(member.change) === change,
        )
        .slice(0, Math.floor(limit));

      const toFolderId = 'toFolderId' in first.change ? first.change.toFolderId : null;
      const folders = await manager.query<{ id: string; path: string }[]>(
        `SELECT id, path FROM mail_folders WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
        [tenantId, [first.folder_id, ...(toFolderId ? [toFolderId] : [])]],
      );
      const pathOf = (folderId: string | null): string | null =>
        folders.find((folder) => folder.id === folderId)?.path ?? null;
      // Only a move may need to find its messages again by Message-ID.
      const headers = toFolderId
        ? await manager.query<{ id: string; message_id: string | null }[]>(
            `SELECT id, message_id FROM mail_messages WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
            [tenantId, batch.map((member) => member.message_id)],
          )
        : [];
      const headerOf = new Map(headers.map((row) => [row.id, row.message_id]));
      return {
        state: 'batch',
        batch: {
          bulkActionId: id,
          accountId: record.account_id,
          sourcePath: pathOf(first.folder_id),
          uidValidity: first.uid_validity,
          change: first.change,
          targetPath: pathOf(toFolderId),
          members: batch.map((member) => ({
            actionId: member.id,
            messageId: member.message_id,
            uid: Number(member.uid),
            messageIdHeader: headerOf.get(member.message_id) ?? null,
          })),
        },
      };
    });
  }

  /**
   * What the server made of one batch, in one transaction with the record's counts: applied
   * members are confirmed (a moved one takes its new UID), refused ones undone with the reason.
   * Members no longer pending (settled by a twin of a stalled job) are left out of the counts.
   */
  async settleBatch(id: string, outcomes: readonly BulkMemberOutcome[]): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      // The record's row lock orders the settlements of a job and of its stalled twin.
      const [record] = await manager.query<{ account_id: string }[]>(
        `SELECT account_id FROM bulk_actions WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
        [tenantId, id],
      );
      if (!record) return;
      const claimed = await manager.query<{ id: string; message_id: string; change: MessageActionChange }[]>(
        `SELECT id, message_id, change FROM mail_message_actions
         WHERE tenant_id = $1 AND bulk_action_id = $2 AND state = 'pending' AND id = ANY($3::uuid[])
         ORDER BY id FOR UPDATE`,
        [tenantId, id, outcomes.map((outcome) => outcome.actionId)],
      );
      const pending = new Map(claimed.map((row) => [row.id, row]));
      const applied = outcomes.filter((outcome) => pending.has(outcome.actionId) && outcome.refused === undefined);
      const refused = outcomes.filter((outcome) => pending.has(outcome.actionId) && outcome.refused !== undefined);

      const placed = applied.flatMap((outcome) => {
        const row = pending.get(outcome.actionId);
        return outcome.placed && row && 'toFolderId' in row.change
          ? [{ messageId: row.message_id, folderId: row.change.toFolderId, ...outcome.placed }]
          : [];
      });
      if (placed.length > 0) await this.place(manager, tenantId, record.account_id, placed);
      await manager.query(
        `UPDATE mail_message_actions SET state = 'applied', finished_at = now() WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
        [tenantId, applied.map((outcome) => outcome.actionId)],
      );
      const failures: BulkActionFailure[] = [];
      for (const outcome of refused) {
        await this.actions.revert(outcome.actionId, outcome.refused ?? '');
        failures.push({ messageId: pending.get(outcome.actionId)?.message_id ?? '', reason: outcome.refused ?? '' });
      }
      await this.count(manager, tenantId, id, applied.length, failures);
    });
  }

  /** Closes a record whose members are all settled. */
  async complete(id: string): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE bulk_actions SET state = 'completed', finished_at = now(), updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')
           AND NOT EXISTS (SELECT 1 FROM mail_message_actions WHERE tenant_id = $1 AND bulk_action_id = $2 AND state = 'pending')`,
        [tenantId, id],
      );
    });
  }

  /**
   * The job gives up (or could not be queued): every member still pending is undone as a refusal
   * would undo it, newest first as single actions are, a thousand per transaction, and the record
   * fails with the reason.
   */
  async failRemaining(id: string, reason: string): Promise<void> {
    for (;;) {
      const settled = await this.scope.transaction(async (manager, tenantId) => {
        const members = await manager.query<{ id: string; message_id: string }[]>(
          `SELECT id, message_id FROM mail_message_actions WHERE tenant_id = $1 AND bulk_action_id = $2 AND state = 'pending'
           ORDER BY created_at DESC, id DESC LIMIT 1000`,
          [tenantId, id],
        );
        for (const member of members) await this.actions.revert(member.id, reason);
        await this.count(
          manager,
          tenantId,
          id,
          0,
          members.map((member) => ({ messageId: member.message_id, reason })),
        );
        return members.length;
      });
      if (settled === 0) break;
    }
    await this.scope.transaction(async (manager, tenantId) => {
      await manager.query(
        `UPDATE bulk_actions SET state = 'failed', error = $3, finished_at = now(), updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')`,
        [tenantId, id, reason],
      );
    });
  }

  /** The current tenant's records still waiting for their job. */
  async findUnfinished(): Promise<UnfinishedBulkAction[]> {
    const rows = await this.scope.query<{ id: string; account_id: string }>((tenantId) => ({
      sql: `SELECT id, account_id FROM bulk_actions WHERE tenant_id = :tenantId AND state IN ('queued', 'running') ORDER BY created_at`,
      parameters: { tenantId },
    }));
    return rows.map((row) => ({ id: row.id, accountId: row.account_id }));
  }

  private async count(
    manager: EntityManager,
    tenantId: string,
    id: string,
    done: number,
    failures: readonly BulkActionFailure[],
  ): Promise<void> {
    await manager.query(
      `UPDATE bulk_actions SET done = done + $3, failed = failed + $4,
         failures = CASE WHEN jsonb_array_length(failures) >= $6 THEN failures
                         ELSE (SELECT coalesce(jsonb_agg(value), '[]') FROM (SELECT value FROM jsonb_array_elements(failures || $5::jsonb) LIMIT $6) kept) END,
         updated_at = now()
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, done, failures.length, JSON.stringify(failures.slice(0, BULK_FAILURES_KEPT)), BULK_FAILURES_KEPT],
    );
  }

  /** As MessageActionRepository.confirm places one moved message, for a batch: a row the sync stored meanwhile for the new UID gives way. */
  private async place(
    manager: EntityManager,
    tenantId: string,
    accountId: string,
    placed: readonly { messageId: string; folderId: string; uidValidity: string; uid: number }[],
  ): Promise<void> {
    const values = [
      tenantId,
      accountId,
      placed.map((entry) => entry.messageId),
      placed.map((entry) => entry.folderId),
      placed.map((entry) => entry.uidValidity),
      placed.map((entry) => entry.uid),
    ];
    const placements = `unnest($3::uuid[], $4::uuid[], $5::bigint[], $6::bigint[]) AS p(message_id, folder_id, uid_validity, uid)`;
    await manager.query(
      `DELETE FROM mail_messages m USING ${placements}
       WHERE m.tenant_id = $1 AND m.account_id = $2 AND m.folder_id = p.folder_id AND m.uid_validity = p.uid_validity AND m.uid = p.uid
         AND m.id <> p.message_id`,
      values,
    );
    await manager.query(
      `UPDATE mail_messages m SET uid_validity = p.uid_validity, uid = p.uid, updated_at = now() FROM ${placements}
       WHERE m.tenant_id = $1 AND m.account_id = $2 AND m.id = p.message_id AND m.folder_id = p.folder_id
         AND m.uid_validity = ${PENDING_UID_VALIDITY}`,
      values,
    );
  }

  /** The selected messages of the account, locked; `busy` when a move or delete of it is still pending. */
  private async lockSelected(
    manager: EntityManager,
    tenantId: string,
    request: NewBulkAction,
  ): Promise<{ id: string; busy: boolean }[]> {
    const { selection } = request;
    const conditions = ['m.tenant_id = :tenantId', 'm.account_id = :accountId'];
    const parameters: Record<string, unknown> = { tenantId, accountId: request.accountId };
    if ('ids' in selection) {
      conditions.push('m.id = ANY(CAST(:ids AS uuid[]))');
      parameters.ids = selection.ids.filter((messageId) => UUID.test(messageId));
    } else {
      const fragment = compileMessageFilter(selection.filter, 'm', 'tenantId');
      if (fragment) {
        conditions.push(fragment.sql);
        Object.assign(parameters, fragment.parameters);
      }
    }
    const [sql, values] = manager.connection.driver.escapeQueryWithParameters(
      `SELECT m.id FROM mail_messages m WHERE ${conditions.join(' AND ')}
       ORDER BY m.id LIMIT ${request.maxMessages + 1} FOR UPDATE OF m`,
      parameters,
    );
    const rows = await manager.query<{ id: string }[]>(sql, values);
    if (rows.length > request.maxMessages) throw new BulkActionTooLargeError(request.maxMessages);
    // Read on their own rather than per selected row: pending actions written moments ago (another
    // bulk's) have no statistics yet, and a correlated lookup planned on none can scan them all per row.
    const relocating = await manager.query<{ message_id: string }[]>(
      `SELECT DISTINCT message_id FROM mail_message_actions
       WHERE tenant_id = $1 AND account_id = $2 AND state = 'pending' AND kind <> 'flags'`,
      [tenantId, request.accountId],
    );
    const busy = new Set(relocating.map((row) => row.message_id));
    return rows.map((row) => ({ id: row.id, busy: busy.has(row.id) }));
  }

  /** Changes the free members as the single actions would and records each as a pending member; answers how many changed. */
  private async changeMembers(
    manager: EntityManager,
    tenantId: string,
    bulkActionId: string,
    action: BulkActionKind,
    ids: readonly string[],
    target: { id: string } | null,
    accountId: string,
  ): Promise<number> {
    if (ids.length === 0) return 0;
    const origin = `jsonb_build_object('folderId', c.folder_id, 'uidValidity', c.uid_validity::text, 'uid', c.uid::text)`;
    const record = (kind: string, change: string, originOf = origin) =>
      `INSERT INTO mail_message_actions (tenant_id, account_id, message_id, kind, change, origin, bulk_action_id)
       SELECT $1, c.account_id, c.id, '${kind}', ${change}, ${originOf}, $3 FROM changed c`;
    switch (action) {
      case 'seen':
      case 'unseen':
      case 'flag':
      case 'unflag': {
        const { flag, present } = FLAG_OF[action];
        const change = JSON.stringify(present ? { add: [flag], remove: [] } : { add: [], remove: [flag] });
        const flags = present
          ? `ARRAY(SELECT f FROM (SELECT DISTINCT unnest(m.flags || $4::text) AS f) AS kept ORDER BY f COLLATE "C")`
          : `array_remove(m.flags, $4::text)`;
        const rows = await manager.query<{ changed: number }[]>(
          `WITH changed AS (
             SELECT id, account_id, folder_id, uid_validity, uid FROM mail_messages
             WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND ($4::text = ANY(flags)) <> $5
           ), recorded AS (${record('flags', `'${change}'::jsonb`)}
           ), updated AS (
             UPDATE mail_messages m SET flags = ${flags}, action_error = NULL, updated_at = now()
             FROM changed c WHERE m.tenant_id = $1 AND m.id = c.id RETURNING m.id
           )
           SELECT count(*)::int AS changed FROM updated`,
          [tenantId, ids, bulkActionId, flag, present],
        );
        return changedCount(rows);
      }
      case 'move':
        return this.relocate(manager, tenantId, bulkActionId, 'move', ids, target?.id ?? '', record);
      case 'delete': {
        const trash = await this.findFolder(manager, tenantId, accountId, 'trash');
        const expunged = await manager.query<{ changed: number }[]>(
          `WITH changed AS (
             SELECT m.id, m.account_id, m.folder_id, m.uid_validity, m.uid, to_jsonb(m) - $5::text[] AS row,
                    coalesce((SELECT jsonb_agg(to_jsonb(a)) FROM mail_attachments a WHERE a.tenant_id = $1 AND a.message_id = m.id), '[]') AS attachments
             FROM mail_messages m
             WHERE m.tenant_id = $1 AND m.id = ANY($2::uuid[]) AND ($4::uuid IS NULL OR m.folder_id = $4::uuid)
           ), recorded AS (${record('delete', `'{"expunge":true}'::jsonb`, `${origin} || jsonb_build_object('row', c.row, 'attachments', c.attachments)`)}
           ), deleted AS (
             DELETE FROM mail_messages m USING changed c WHERE m.tenant_id = $1 AND m.id = c.id RETURNING m.id
           )
           SELECT count(*)::int AS changed FROM deleted`,
          [tenantId, ids, bulkActionId, trash?.id ?? null, GENERATED_COLUMNS],
        );
        if (!trash) return changedCount(expunged);
        return (
          changedCount(expunged) +
          (await this.relocate(manager, tenantId, bulkActionId, 'delete', ids, trash.id, record))
        );
      }
    }
  }

  private async relocate(
    manager: EntityManager,
    tenantId: string,
    bulkActionId: string,
    kind: 'move' | 'delete',
    ids: readonly string[],
    targetId: string,
    record: (kind: string, change: string) => string,
  ): Promise<number> {
    const rows = await manager.query<{ changed: number }[]>(
      `WITH changed AS (
         SELECT id, account_id, folder_id, uid_validity, uid FROM mail_messages
         WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND folder_id <> $4::uuid
       ), recorded AS (${record(kind, `jsonb_build_object('toFolderId', $4::uuid)`)}
       ), updated AS (
         UPDATE mail_messages m SET folder_id = $4::uuid, uid_validity = ${PENDING_UID_VALIDITY},
           uid = -nextval('mail_message_pending_uid'), action_error = NULL, updated_at = now()
         FROM changed c WHERE m.tenant_id = $1 AND m.id = c.id RETURNING m.id
       )
       SELECT count(*)::int AS changed FROM updated`,
      [tenantId, ids, bulkActionId, targetId],
    );
    return changedCount(rows);
  }

  private async findIn(manager: EntityManager, tenantId: string, id: string): Promise<BulkAction | null> {
    return manager.getRepository(BulkAction).findOneBy({ id, tenantId });
  }

  /** An exact path wins over a special-use role, as for single moves. */
  private async findFolder(
    manager: EntityManager,
    tenantId: string,
    accountId: string,
    folder: string,
  ): Promise<{ id: string } | null> {
    const [row] = await manager.query<{ id: string }[]>(
      `SELECT id FROM mail_folders
       WHERE tenant_id = $1 AND account_id = $2 AND (path = $3 OR role = lower($3) OR ($4::uuid IS NOT NULL AND id = $4::uuid))
       ORDER BY path = $3 DESC LIMIT 1`,
      [tenantId, accountId, folder, UUID.test(folder) ? folder : null],
    );
    return row ?? null;
  }
}

/** The count a `WITH … SELECT count(*) AS changed` statement answers (a plain UPDATE or DELETE would answer [rows, count]). */
function changedCount(rows: readonly { changed: number }[]): number {
  return rows[0]?.changed ?? 0;
}
