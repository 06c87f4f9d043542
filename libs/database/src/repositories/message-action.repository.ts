import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { MessageActionBusyError, MessageActionTargetNotFoundError } from '../errors.js';
import { MailMessageAction } from '../entities/mail-message-action.entity.js';
import type {
  MessageActionChange,
  MessageActionError,
  MessageActionKind,
  MessageActionOrigin,
} from '../entities/mail-message-action.entity.js';

const SEEN = '\\Seen';
const FLAGGED = '\\Flagged';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
/** Columns PostgreSQL computes itself: left out of an expunged row's snapshot and of its restore. */
export const GENERATED_COLUMNS = ['search_vector', 'from_search', 'to_search', 'cc_search'];
/** A moved message's UIDVALIDITY until the server tells its UID in the new folder. */
export const PENDING_UID_VALIDITY = '0';

/** A pending action and what its job names. */
export interface PendingMessageAction {
  id: string;
  accountId: string;
  messageId: string;
}

export interface FlagsRequest {
  seen?: boolean;
  flagged?: boolean;
}

/** The message as the user sees it right after the request. `actionId` is null when nothing had to change. */
export interface RequestedAction {
  actionId: string | null;
  kind: MessageActionKind;
  messageId: string;
  accountId: string;
  folderId: string | null;
  folderPath: string | null;
  flags: string[];
  expunged: boolean;
}

/** Everything the worker needs to apply one action on the server. */
export interface ActionToApply {
  action: MailMessageAction;
  /** Folder path where the message sits on the server before the action. */
  sourcePath: string | null;
  /** Destination folder of a move (or of a delete into Trash). */
  targetPath: string | null;
  /** The Message-ID header, to find a moved message when the server does not report its new UID. */
  messageIdHeader: string | null;
}

interface LockedMessage {
  id: string;
  account_id: string;
  folder_id: string;
  uid_validity: string;
  uid: string;
  flags: string[];
  folder_path: string;
  folder_role: string | null;
}

/**
 * Flag changes, moves and deletes of the current tenant's messages. A request changes the stored
 * message at once and records how to apply (and undo) the change; the worker then applies it on
 * the server and either confirms it or reverts the message with the server's reason.
 */
@Injectable()
export class MessageActionRepository {
  constructor(private readonly scope: TenantScope) {}

  async requestFlags(messageId: string, request: FlagsRequest): Promise<RequestedAction> {
    return this.scope.transaction(async (manager, tenantId) => {
      const message = await this.lockMessage(manager, tenantId, messageId);
      await this.assertNoPendingRelocation(manager, tenantId, messageId);
      const add: string[] = [];
      const remove: string[] = [];
      for (const [flag, wanted] of [
        [SEEN, request.seen],
        [FLAGGED, request.flagged],
      ] as const) {
        if (wanted === undefined || message.flags.includes(flag) === wanted) continue;
        (wanted ? add : remove).push(flag);
      }
      const flags = [...new Set([...message.flags.filter((flag) => !remove.includes(flag)), ...add])].sort();
      const summary = {
        kind: 'flags' as const,
        messageId,
        accountId: message.account_id,
        folderId: message.folder_id,
        folderPath: message.folder_path,
        flags,
        expunged: false,
      };
      if (add.length === 0 && remove.length === 0) return { ...summary, actionId: null };
      const actionId = await this.insertAction(manager, tenantId, message, 'flags', { add, remove }, originOf(message));
      await manager.query(
        `UPDATE mail_messages SET flags = $3, action_error = NULL, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
        [tenantId, messageId, flags],
      );
      return { ...summary, actionId };
    });
  }

  /** `folder` is a folder id, path or special-use role of the message's account. */
  async requestMove(messageId: string, folder: string): Promise<RequestedAction> {
    return this.scope.transaction(async (manager, tenantId) => {
      const message = await this.lockMessage(manager, tenantId, messageId);
      await this.assertNoPendingRelocation(manager, tenantId, messageId);
      const target = await this.findFolder(manager, tenantId, message.account_id, folder);
      if (!target) throw new MessageActionTargetNotFoundError('folder');
      if (target.id === message.folder_id) return unchanged(message, 'move');
      return this.relocate(manager, tenantId, message, 'move', target);
    });
  }

  /** Into the account's Trash; expunged when it is in Trash already or the account has none. */
  async requestDelete(messageId: string): Promise<RequestedAction> {
    return this.scope.transaction(async (manager, tenantId) => {
      const message = await this.lockMessage(manager, tenantId, messageId);
      await this.assertNoPendingRelocation(manager, tenantId, messageId);
      const trash =
        message.folder_role === 'trash' ? null : await this.findFolder(manager, tenantId, message.account_id, 'trash');
      if (trash) return this.relocate(manager, tenantId, message, 'delete', trash);

      const [snapshot] = await manager.query<
        { row: Record<string, unknown>; attachments: Record<string, unknown>[] }[]
      >(
        `SELECT to_jsonb(m) - $3::text[] AS row,
                coalesce((SELECT jsonb_agg(to_jsonb(a)) FROM mail_attachments a WHERE a.tenant_id = $1 AND a.message_id = m.id), '[]') AS attachments
         FROM mail_messages m WHERE m.tenant_id = $1 AND m.id = $2`,
        [tenantId, messageId, GENERATED_COLUMNS],
      );
      const actionId = await this.insertAction(
        manager,
        tenantId,
        message,
        'delete',
        { expunge: true },
        {
          ...originOf(message),
          row: snapshot?.row,
          attachments: snapshot?.attachments,
        },
      );
      await manager.query(`DELETE FROM mail_messages WHERE tenant_id = $1 AND id = $2`, [tenantId, messageId]);
      return {
        actionId,
        kind: 'delete',
        messageId,
        accountId: message.account_id,
        folderId: null,
        folderPath: null,
        flags: message.flags,
        expunged: true,
      };
    });
  }

  async findToApply(actionId: string): Promise<ActionToApply | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const action = await manager.getRepository(MailMessageAction).findOneBy({ id: actionId, tenantId });
      if (!action) return null;
      const folderIds = [
        action.origin.folderId,
        'toFolderId' in action.change ? action.change.toFolderId : null,
      ].filter((id): id is string => id !== null);
      const folders = await manager.query<{ id: string; path: string }[]>(
        `SELECT id, path FROM mail_folders WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
        [tenantId, folderIds],
      );
      const pathOf = (id: string | undefined): string | null =>
        folders.find((folder) => folder.id === id)?.path ?? null;
      const [message] = await manager.query<{ message_id: string | null }[]>(
        `SELECT message_id FROM mail_messages WHERE tenant_id = $1 AND id = $2`,
        [tenantId, action.messageId],
      );
      const snapshotHeader = action.origin.row?.message_id;
      return {
        action,
        sourcePath: pathOf(action.origin.folderId),
        targetPath: 'toFolderId' in action.change ? pathOf(action.change.toFolderId) : null,
        messageIdHeader: message?.message_id ?? (typeof snapshotHeader === 'string' ? snapshotHeader : null),
      };
    });
  }

  /**
   * The current tenant's pending actions that have a job of their own (members of a bulk action
   * have their bulk's job), newest first: the ones to undo are undone in that order, so each revert
   * finds the message as its action requested it, as with a series of refusals.
   */
  async findPending(): Promise<PendingMessageAction[]> {
    const rows = await this.scope.query<{ id: string; account_id: string; message_id: string }>((tenantId) => ({
      sql: `SELECT id, account_id, message_id FROM mail_message_actions
            WHERE tenant_id = :tenantId AND state = 'pending' AND bulk_action_id IS NULL
            ORDER BY created_at DESC, id DESC`,
      parameters: { tenantId },
    }));
    return rows.map((row) => ({ id: row.id, accountId: row.account_id, messageId: row.message_id }));
  }

  /** Actions of one message are applied in the order they were requested. */
  async hasEarlierPending(action: Pick<MailMessageAction, 'id' | 'messageId'>): Promise<boolean> {
    return this.scope.transaction(async (manager, tenantId) => {
      // Compared in SQL: created_at has microseconds, a JavaScript Date only milliseconds.
      const rows = await manager.query<unknown[]>(
        `SELECT 1 FROM mail_message_actions earlier
         WHERE earlier.tenant_id = $1 AND earlier.message_id = $2 AND earlier.state = 'pending'
           AND (earlier.created_at, earlier.id) < (SELECT this.created_at, this.id FROM mail_message_actions this WHERE this.tenant_id = $1 AND this.id = $3)
         LIMIT 1`,
        [tenantId, action.messageId, action.id],
      );
      return rows.length > 0;
    });
  }

  /**
   * The server did it. A relocated message takes its UID in the new folder; a row the sync may
   * have stored for that UID in the meantime is the same message and gives way.
   */
  async confirm(actionId: string, placed?: { uidValidity: string; uid: number }): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      const action = await this.claimPending(manager, tenantId, actionId);
      if (!action) return;
      if (placed && 'toFolderId' in action.change) {
        await manager.query(
          `DELETE FROM mail_messages WHERE tenant_id = $1 AND folder_id = $2 AND uid_validity = $3 AND uid = $4 AND id <> $5`,
          [tenantId, action.change.toFolderId, placed.uidValidity, placed.uid, action.messageId],
        );
        await manager.query(
          `UPDATE mail_messages SET uid_validity = $4, uid = $5, updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND folder_id = $3 AND uid_validity = ${PENDING_UID_VALIDITY}`,
          [tenantId, action.messageId, action.change.toFolderId, placed.uidValidity, placed.uid],
        );
      }
      await manager.query(
        `UPDATE mail_message_actions SET state = 'applied', finished_at = now() WHERE tenant_id = $1 AND id = $2`,
        [tenantId, actionId],
      );
    });
  }

  /** The server refused (or could not be reached in time): the message goes back to how it was, carrying the reason. */
  async revert(actionId: string, reason: string): Promise<void> {
    await this.scope.transaction(async (manager, tenantId) => {
      const action = await this.claimPending(manager, tenantId, actionId);
      if (!action) return;
      const error: MessageActionError = { action: action.kind, message: reason, at: new Date().toISOString() };
      const { change, origin } = action;
      if ('add' in change) {
        await manager.query(
          `UPDATE mail_messages SET flags = ARRAY(SELECT DISTINCT flag FROM unnest(flags || $4::text[]) AS flag WHERE NOT (flag = ANY($3::text[])) ORDER BY flag),
             action_error = $5, updated_at = now()
           WHERE tenant_id = $1 AND id = $2`,
          [tenantId, action.messageId, change.add, change.remove, error],
        );
      } else if ('toFolderId' in change) {
        await manager.query(
          `DELETE FROM mail_messages WHERE tenant_id = $1 AND folder_id = $2 AND uid_validity = $3 AND uid = $4 AND id <> $5`,
          [tenantId, origin.folderId, origin.uidValidity, origin.uid, action.messageId],
        );
        await manager.query(
          `UPDATE mail_messages SET folder_id = $3, uid_validity = $4, uid = $5, action_error = $6, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
          [tenantId, action.messageId, origin.folderId, origin.uidValidity, origin.uid, error],
        );
      } else if (origin.row) {
        await this.restoreExpunged(manager, tenantId, origin, error);
      }
      await manager.query(
        `UPDATE mail_message_actions SET state = 'failed', error = $3, finished_at = now() WHERE tenant_id = $1 AND id = $2`,
        [tenantId, actionId, reason],
      );
    });
  }

  private async restoreExpunged(
    manager: EntityManager,
    tenantId: string,
    origin: MessageActionOrigin,
    error: MessageActionError,
  ): Promise<void> {
    const row = { ...origin.row, action_error: error };
    // The names come from this table's own row (to_jsonb), never from a request.
    const columns = Object.keys(row).filter(
      (column) => /^[a-z_]+$/u.test(column) && !GENERATED_COLUMNS.includes(column),
    );
    const list = columns.map((column) => `"${column}"`).join(', ');
    const inserted = await manager.query<unknown[]>(
      `INSERT INTO mail_messages (${list}) SELECT ${list} FROM jsonb_populate_record(NULL::mail_messages, $1::jsonb) ON CONFLICT DO NOTHING RETURNING id`,
      [row],
    );
    if (inserted.length === 0 || !origin.attachments?.length) return;
    await manager.query(
      `INSERT INTO mail_attachments SELECT * FROM jsonb_populate_recordset(NULL::mail_attachments, $1::jsonb) WHERE tenant_id = $2 ON CONFLICT DO NOTHING`,
      [JSON.stringify(origin.attachments), tenantId],
    );
  }

  /** Locks the action so a retried job and its stalled twin cannot both finish it. */
  private async claimPending(
    manager: EntityManager,
    tenantId: string,
    actionId: string,
  ): Promise<MailMessageAction | null> {
    const [row] = await manager.query<
      {
        id: string;
        message_id: string;
        kind: MessageActionKind;
        change: MessageActionChange;
        origin: MessageActionOrigin;
      }[]
    >(
      `SELECT id, message_id, kind, change, origin FROM mail_message_actions WHERE tenant_id = $1 AND id = $2 AND state = 'pending' FOR UPDATE`,
      [tenantId, actionId],
    );
    if (!row) return null;
    return {
      id: row.id,
      messageId: row.message_id,
      kind: row.kind,
      change: row.change,
      origin: row.origin,
    } as MailMessageAction;
  }

  private async relocate(
    manager: EntityManager,
    tenantId: string,
    message: LockedMessage,
    kind: 'move' | 'delete',
    target: { id: string; path: string },
  ): Promise<RequestedAction> {
    const actionId = await this.insertAction(
      manager,
      tenantId,
      message,
      kind,
      { toFolderId: target.id },
      originOf(message),
    );
    await manager.query(
      `UPDATE mail_messages SET folder_id = $3, uid_validity = ${PENDING_UID_VALIDITY}, uid = -nextval('mail_message_pending_uid'), action_error = NULL, updated_at = now()
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, message.id, target.id],
    );
    return {
      actionId,
      kind,
      messageId: message.id,
      accountId: message.account_id,
      folderId: target.id,
      folderPath: target.path,
      flags: message.flags,
      expunged: false,
    };
  }

  private async insertAction(
    manager: EntityManager,
    tenantId: string,
    message: LockedMessage,
    kind: MessageActionKind,
    change: MessageActionChange,
    origin: MessageActionOrigin,
  ): Promise<string> {
    const [row] = await manager.query<{ id: string }[]>(
      `INSERT INTO mail_message_actions (tenant_id, account_id, message_id, kind, change, origin) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [tenantId, message.account_id, message.id, kind, change, origin],
    );
    if (!row) throw new Error('action was not recorded');
    return row.id;
  }

  private async lockMessage(manager: EntityManager, tenantId: string, messageId: string): Promise<LockedMessage> {
    if (!UUID.test(messageId)) throw new MessageActionTargetNotFoundError('message');
    const [message] = await manager.query<LockedMessage[]>(
      `SELECT m.id, m.account_id, m.folder_id, m.uid_validity, m.uid, m.flags, f.path AS folder_path, f.role AS folder_role
       FROM mail_messages m JOIN mail_folders f ON f.id = m.folder_id AND f.tenant_id = $1
       WHERE m.tenant_id = $1 AND m.id = $2 FOR UPDATE OF m`,
      [tenantId, messageId],
    );
    if (!message) throw new MessageActionTargetNotFoundError('message');
    return message;
  }

  private async assertNoPendingRelocation(manager: EntityManager, tenantId: string, messageId: string): Promise<void> {
    const rows = await manager.query<unknown[]>(
      `SELECT 1 FROM mail_message_actions WHERE tenant_id = $1 AND message_id = $2 AND state = 'pending' AND kind <> 'flags' LIMIT 1`,
      [tenantId, messageId],
    );
    if (rows.length > 0) throw new MessageActionBusyError();
  }

  /** An exact path wins over a special-use role, as in message lists. */
  private async findFolder(
    manager: EntityManager,
    tenantId: string,
    accountId: string,
    folder: string,
  ): Promise<{ id: string; path: string } | null> {
    const [row] = await manager.query<{ id: string; path: string }[]>(
      `SELECT id, path FROM mail_folders
       WHERE tenant_id = $1 AND account_id = $2 AND (path = $3 OR role = lower($3) OR ($4::uuid IS NOT NULL AND id = $4::uuid))
       ORDER BY path = $3 DESC LIMIT 1`,
      [tenantId, accountId, folder, UUID.test(folder) ? folder : null],
    );
    return row ?? null;
  }
}

function originOf(message: LockedMessage): MessageActionOrigin {
  return { folderId: message.folder_id, uidValidity: message.uid_validity, uid: message.uid };
}

function unchanged(message: LockedMessage, kind: MessageActionKind): RequestedAction {
  return {
    actionId: null,
    kind,
    messageId: message.id,
    accountId: message.account_id,
    folderId: message.folder_id,
    folderPath: message.folder_path,
    flags: message.flags,
    expunged: false,
  };
}
