import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import type { EntityManager, SelectQueryBuilder } from 'typeorm';

import { MessageScopeNotFoundError } from '../errors.js';
import { MailAccount } from '../entities/mail-account.entity.js';
import { MailAttachment } from '../entities/mail-attachment.entity.js';
import { MailFolder } from '../entities/mail-folder.entity.js';
import type { MessageActionError } from '../entities/mail-message-action.entity.js';
import type { MailAddress } from '../entities/mail-message.entity.js';
import { MailMessage } from '../entities/mail-message.entity.js';
import { decodeCursor, pageOf } from './keyset-cursor.js';
import type { Page } from './keyset-cursor.js';
import type { MessageFilter } from './message-filter.js';
import { compileMessageFilter } from './message-filter.sql.js';

/** What a message list shows: no bodies, no headers. */
export interface MessageSummaryRow {
  id: string;
  accountId: string;
  folderPath: string;
  subject: string | null;
  fromName: string | null;
  fromAddress: string | null;
  to: MailAddress[];
  cc: MailAddress[];
  receivedAt: Date;
  sentAt: Date | null;
  flags: string[];
  snippet: string | null;
  hasAttachments: boolean;
  threadId: string | null;
  messageId: string | null;
}

export interface MessageDetailRow extends MessageSummaryRow {
  folderId: string;
  bcc: MailAddress[];
  replyTo: MailAddress[];
  inReplyTo: string | null;
  references: string[];
  textBody: string | null;
  htmlBody: string | null;
  headers: Record<string, string | string[]> | null;
  size: number;
  attachments: Pick<MailAttachment, 'id' | 'filename' | 'contentType' | 'size' | 'contentId' | 'inline'>[];
  actionError: MessageActionError | null;
}

export interface MessageListCriteria {
  accountId?: string;
  /** A folder id, or a path / special-use role within `accountId`. */
  folder?: string;
  unread?: boolean;
  flagged?: boolean;
  filter?: MessageFilter;
}

export interface ThreadSummaryRow {
  threadId: string;
  accountId: string;
  subject: string | null;
  messageCount: number;
  unreadCount: number;
  hasAttachments: boolean;
  lastReceivedAt: Date;
  participants: MailAddress[];
  latestMessageId: string;
  snippet: string | null;
}

/** Where the bytes of one attachment sit on the IMAP server, with what the download answers carry. */
export interface MessageSourceRow {
  accountId: string;
  folderPath: string;
  /** '0' while a move of the message is being applied and its UID in the new folder is not known yet. */
  uidValidity: string;
  uid: string;
}

export interface AttachmentSourceRow extends MessageSourceRow {
  partId: string;
  filename: string | null;
  contentType: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
/** Microseconds survive in the cursor: a millisecond-rounded cursor would skip or repeat messages received in the same millisecond. */
const CURSOR_AT = `to_char(m.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const SUMMARY_COLUMNS = [
  'm.id AS "id"',
  'm.account_id AS "accountId"',
  'f.path AS "folderPath"',
  'm.subject AS "subject"',
  'm.from_name AS "fromName"',
  'm.from_address AS "fromAddress"',
  'm.to AS "to"',
  'm.cc AS "cc"',
  'm.received_at AS "receivedAt"',
  'm.sent_at AS "sentAt"',
  'm.flags AS "flags"',
  'm.snippet AS "snippet"',
  'm.has_attachments AS "hasAttachments"',
  'm.thread_id AS "threadId"',
  'm.message_id AS "messageId"',
  `${CURSOR_AT} AS "cursorAt"`,
].join(', ');

interface RawSummary extends MessageSummaryRow {
  cursorAt: string;
}

/**
 * The read side of synced mail: lists, search, one message, threads. Every query runs in the
 * tenant's scope (row-level security) and filters by tenant explicitly as well.
 */
@Injectable()
export class MessageReadRepository {
  constructor(private readonly scope: TenantScope) {}

  /** Newest first (INTERNALDATE, then id), keyset-paginated. */
  async list(criteria: MessageListCriteria, limit: number, cursor?: string): Promise<Page<MessageSummaryRow>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const folderByPath = criteria.folder !== undefined && !UUID.test(criteria.folder);
    if (folderByPath && !criteria.accountId) throw new MessageScopeNotFoundError('folder');
    // Plain SQL from fixed fragments rather than the query builder: this is the hottest query of
    // the API and building it through TypeORM cost more CPU than running it.
    const rows = await this.scope.query<RawSummary>((tenantId) => {
      const conditions = ['m.tenant_id = :tenantId'];
      const parameters: Record<string, unknown> = { tenantId, accountId: criteria.accountId };
      // With a folder path the subquery below already pins the account; an extra account test
      // would tempt the planner onto the account index instead of the folder's.
      if (criteria.accountId && !folderByPath) conditions.push('m.account_id = :accountId');
      if (criteria.folder !== undefined) {
        if (folderByPath) {
          // A scalar subquery keeps this one statement and lets the planner walk the folder's index;
          // an exact path wins over a role, so a folder literally named "Sent" is not shadowed.
          conditions.push(
            `m.folder_id = (SELECT folder.id FROM mail_folders folder WHERE folder.tenant_id = :tenantId AND folder.account_id = :accountId
               AND (folder.path = :folderPath OR folder.role = lower(:folderPath)) ORDER BY folder.path = :folderPath DESC LIMIT 1)`,
          );
          parameters.folderPath = criteria.folder;
        } else {
          conditions.push('m.folder_id = :folderId');
          parameters.folderId = criteria.folder;
        }
      }
      if (criteria.unread !== undefined || criteria.flagged !== undefined)
        Object.assign(parameters, { seen: '\\Seen', flagged: '\\Flagged' });
      if (criteria.unread !== undefined) conditions.push(`${criteria.unread ? 'NOT ' : ''}(:seen = ANY(m.flags))`);
      if (criteria.flagged !== undefined) conditions.push(`${criteria.flagged ? '' : 'NOT '}(:flagged = ANY(m.flags))`);
      if (criteria.filter) {
        const fragment = compileMessageFilter(criteria.filter, 'm', 'tenantId');
        if (fragment) {
          conditions.push(fragment.sql);
          Object.assign(parameters, fragment.parameters);
        }
      }
      if (after) {
        conditions.push('(m.received_at, m.id) < (CAST(:afterAt AS timestamptz), CAST(:afterId AS uuid))');
        Object.assign(parameters, { afterAt: after.at, afterId: after.id });
      }
      return {
        sql: `SELECT ${SUMMARY_COLUMNS} FROM mail_messages m JOIN mail_folders f ON f.id = m.folder_id AND f.tenant_id = :tenantId
              WHERE ${conditions.join(' AND ')} ORDER BY m.received_at DESC, m.id DESC LIMIT ${limit + 1}`,
        parameters,
      };
    });
    // An empty page may mean a scope that does not exist; only then is it worth a second query.
    if (rows.length === 0 && !after)
      await this.scope.transaction((manager, tenantId) => this.assertScopeExists(manager, tenantId, criteria));
    // The rows go out as they came, `cursorAt` included: copying every row to drop it cost more
    // CPU than building the statement, and callers map summaries to their answers field by field.
    return pageOf(rows, limit, (last) => ({ at: last.cursorAt, id: last.id }));
  }

  async findById(id: string): Promise<MessageDetailRow | null> {
    if (!UUID.test(id)) return null;
    return this.scope.transaction(async (manager, tenantId) => {
      const row = await this.summaries(manager, tenantId)
        .addSelect('m.folder_id', 'folderId')
        .addSelect('m.bcc', 'bcc')
        .addSelect('m.reply_to', 'replyTo')
        .addSelect('m.in_reply_to', 'inReplyTo')
        .addSelect('m.references', 'references')
        .addSelect('m.text_body', 'textBody')
        .addSelect('m.html_body', 'htmlBody')
        .addSelect('m.headers', 'headers')
        .addSelect('m.size', 'size')
        .addSelect('m.action_error', 'actionError')
        .andWhere('m.id = :id', { id })
        .getRawOne<RawSummary & Omit<MessageDetailRow, 'attachments'>>();
      if (!row) return null;
      const attachments = await manager
        .getRepository(MailAttachment)
        .createQueryBuilder('a')
        .select(['a.id', 'a.filename', 'a.contentType', 'a.size', 'a.contentId', 'a.inline'])
        .where('a.tenantId = :tenantId AND a.messageId = :id', { tenantId, id })
        .orderBy('a.partId', 'ASC')
        .getMany();
      const { cursorAt: _cursorAt, ...detail } = row;
      return { ...detail, attachments };
    });
  }

  /**
   * The subject and the start of the text body of each message, for showing why a search matched
   * (the index covers the first 200,000 characters; a passage is taken from the first 50,000).
   */
  async searchableTexts(ids: readonly string[]): Promise<Map<string, { subject: string | null; text: string | null }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.scope.query<{ id: string; subject: string | null; text: string | null }>((tenantId) => ({
      sql: `SELECT m.id, m.subject, left(m.text_body, 50000) AS text FROM mail_messages m
            WHERE m.tenant_id = :tenantId AND m.id IN (:...ids)`,
      parameters: { tenantId, ids },
    }));
    return new Map(rows.map((row) => [row.id, { subject: row.subject, text: row.text }]));
  }

  /** One message as lists show it, or null when it is gone. */
  async findSummary(id: string): Promise<MessageSummaryRow | null> {
    if (!UUID.test(id)) return null;
    return this.scope.transaction(async (manager, tenantId) => {
      const row = await this.summaries(manager, tenantId).andWhere('m.id = :id', { id }).getRawOne<RawSummary>();
      if (!row) return null;
      const { cursorAt: _cursorAt, ...summary } = row;
      return summary;
    });
  }

  /** Where a message's source is on the IMAP server, or null when there is no such message. */
  async findMessageSource(messageId: string): Promise<MessageSourceRow | null> {
    if (!UUID.test(messageId)) return null;
    const [row] = await this.scope.query<MessageSourceRow>((tenantId) => ({
      sql: `SELECT m.account_id AS "accountId", f.path AS "folderPath", m.uid_validity AS "uidValidity", m.uid AS "uid"
            FROM mail_messages m JOIN mail_folders f ON f.id = m.folder_id AND f.tenant_id = :tenantId
            WHERE m.tenant_id = :tenantId AND m.id = :messageId`,
      parameters: { tenantId, messageId },
    }));
    return row ?? null;
  }

  async findAttachmentSource(messageId: string, attachmentId: string): Promise<AttachmentSourceRow | null> {
    if (!UUID.test(messageId) || !UUID.test(attachmentId)) return null;
    return this.scope.transaction(async (manager, tenantId) => {
      const rows = await manager.query<AttachmentSourceRow[]>(
        `SELECT m.account_id AS "accountId", f.path AS "folderPath", m.uid_validity AS "uidValidity", m.uid AS "uid",
                a.part_id AS "partId", a.filename AS "filename", a.content_type AS "contentType"
         FROM mail_attachments a
         JOIN mail_messages m ON m.id = a.message_id AND m.tenant_id = $1
         JOIN mail_folders f ON f.id = m.folder_id AND f.tenant_id = $1
         WHERE a.tenant_id = $1 AND a.id = $2 AND a.message_id = $3`,
        [tenantId, attachmentId, messageId],
      );
      return rows[0] ?? null;
    });
  }

  /**
   * Conversations of an account, most recently active first. Messages the sync could not thread
   * (no thread id yet) stand alone, keyed by their own id.
   */
  async listThreads(accountId: string, limit: number, cursor?: string): Promise<Page<ThreadSummaryRow>> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.scope.transaction(async (manager, tenantId) => {
      const parameters: Record<string, unknown> = { tenantId, accountId, limit: limit + 1 };
      let keyset = '';
      if (after) {
        keyset = `AND (m.received_at, m.id) < (CAST(:afterAt AS timestamptz), CAST(:afterId AS uuid))`;
        Object.assign(parameters, { afterAt: after.at, afterId: after.id });
      }
      // A thread is listed at its latest message: walk the account's messages newest first (its
      // index) keeping those with no newer message in their thread, and stop after one page.
      // Counts and senders are then computed for this page's threads only.
      const [sql, values] = manager.connection.driver.escapeQueryWithParameters(
        `WITH page AS (
           SELECT coalesce(m.thread_id, m.id) AS thread_key, m.id, m.subject, m.snippet, m.received_at
           FROM mail_messages m
           WHERE m.tenant_id = :tenantId AND m.account_id = :accountId ${keyset}
             AND (m.thread_id IS NULL OR NOT EXISTS (
               SELECT 1 FROM mail_messages newer
               WHERE newer.tenant_id = :tenantId AND newer.account_id = m.account_id AND newer.thread_id = m.thread_id
                 AND (newer.received_at, newer.id) > (m.received_at, m.id)))
           ORDER BY m.received_at DESC, m.id DESC
           LIMIT :limit
         )
         SELECT page.thread_key AS "threadId", page.id AS "latestMessageId", page.subject, page.snippet,
                page.received_at AS "lastReceivedAt", ${CURSOR_AT.replaceAll('m.received_at', 'page.received_at')} AS "cursorAt",
                stats.message_count AS "messageCount", stats.unread_count AS "unreadCount",
                stats.has_attachments AS "hasAttachments", stats.participants
         FROM page
         CROSS JOIN LATERAL (
           SELECT count(*)::int AS message_count,
                  count(*) FILTER (WHERE NOT ('\\Seen' = ANY(m.flags)))::int AS unread_count,
                  bool_or(m.has_attachments) AS has_attachments,
                  coalesce(jsonb_agg(DISTINCT jsonb_build_object('name', coalesce(m.from_name, ''), 'address', m.from_address))
                    FILTER (WHERE m.from_address IS NOT NULL), '[]') AS participants
           FROM mail_messages m
           WHERE m.tenant_id = :tenantId AND m.account_id = :accountId
             AND (m.thread_id = page.thread_key OR (m.thread_id IS NULL AND m.id = page.thread_key))
         ) stats
         ORDER BY page.received_at DESC, page.id DESC`,
        parameters,
      );
      const rows = await manager.query<(Omit<ThreadSummaryRow, 'accountId'> & { cursorAt: string })[]>(sql, values);
      if (rows.length === 0 && !after) await this.assertScopeExists(manager, tenantId, { accountId });
      const page = pageOf(rows, limit, (last) => ({ at: last.cursorAt, id: last.latestMessageId }));
      return { ...page, items: page.items.map(({ cursorAt: _cursorAt, ...row }) => ({ ...row, accountId })) };
    });
  }

  /** The messages of one conversation, oldest first; empty when there is no such thread for this tenant. */
  async findThread(threadId: string): Promise<MessageSummaryRow[]> {
    if (!UUID.test(threadId)) return [];
    return this.scope.transaction(async (manager, tenantId) => {
      const rows = await this.summaries(manager, tenantId)
        .andWhere('(m.thread_id = :threadId OR (m.id = :threadId AND m.thread_id IS NULL))', { threadId })
        .orderBy('m.received_at', 'ASC')
        .addOrderBy('m.id', 'ASC')
        .getRawMany<RawSummary>();
      return rows.map(({ cursorAt: _cursorAt, ...row }) => row);
    });
  }

  private summaries(manager: EntityManager, tenantId: string): SelectQueryBuilder<MailMessage> {
    return manager
      .createQueryBuilder(MailMessage, 'm')
      .select('m.id', 'id')
      .addSelect('m.account_id', 'accountId')
      .addSelect('f.path', 'folderPath')
      .addSelect('m.subject', 'subject')
      .addSelect('m.from_name', 'fromName')
      .addSelect('m.from_address', 'fromAddress')
      .addSelect('m.to', 'to')
      .addSelect('m.cc', 'cc')
      .addSelect('m.received_at', 'receivedAt')
      .addSelect('m.sent_at', 'sentAt')
      .addSelect('m.flags', 'flags')
      .addSelect('m.snippet', 'snippet')
      .addSelect('m.has_attachments', 'hasAttachments')
      .addSelect('m.thread_id', 'threadId')
      .addSelect('m.message_id', 'messageId')
      .addSelect(CURSOR_AT, 'cursorAt')
      .innerJoin(MailFolder, 'f', 'f.id = m.folder_id AND f.tenant_id = :tenantId')
      .where('m.tenant_id = :tenantId', { tenantId });
  }

  private async assertScopeExists(
    manager: EntityManager,
    tenantId: string,
    criteria: MessageListCriteria,
  ): Promise<void> {
    if (criteria.accountId && !(await manager.existsBy(MailAccount, { id: criteria.accountId, tenantId }))) {
      throw new MessageScopeNotFoundError('account');
    }
    if (criteria.folder !== undefined) {
      const folder = manager
        .getRepository(MailFolder)
        .createQueryBuilder('folder')
        .where('folder.tenantId = :tenantId', { tenantId });
      if (criteria.accountId) folder.andWhere('folder.accountId = :accountId', { accountId: criteria.accountId });
      if (UUID.test(criteria.folder)) folder.andWhere('folder.id = :folder', { folder: criteria.folder });
      else folder.andWhere('(folder.path = :folder OR folder.role = lower(:folder))', { folder: criteria.folder });
      if (!(await folder.getExists())) throw new MessageScopeNotFoundError('folder');
    }
  }
}
