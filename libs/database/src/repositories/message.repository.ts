import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { MailFolder } from '../entities/mail-folder.entity.js';
import type { UidRange } from './folder.repository.js';
import { MailMessage } from '../entities/mail-message.entity.js';
import type { MailAddress, ParseState } from '../entities/mail-message.entity.js';
import type { ReportedDelivery } from './send-delivery-report.repository.js';

export interface NewMailAttachment {
  partId: string;
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
  inline: boolean;
}

/** One message as a sync stores it; its thread is decided by the sync (ThreadResolver in the worker). */
export interface SyncedMessage {
  uid: number;
  modseq: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string | null;
  fromName: string | null;
  fromAddress: string | null;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo: MailAddress[];
  sentAt: Date | null;
  receivedAt: Date;
  flags: string[];
  size: number;
  hasAttachments: boolean;
  snippet: string | null;
  textBody: string | null;
  htmlBody: string | null;
  headers: Record<string, string | string[]> | null;
  parseState: ParseState;
  attachments: NewMailAttachment[];
  /** What the message says about the delivery of a message the account sent, when it is a bounce or delay notice. */
  deliveryReport: ReportedDelivery | null;
}

export interface FolderPosition {
  folderId: string;
  accountId: string;
  uidValidity: string;
}

/** What one committed batch proves about its folder. */
export interface FolderProgress {
  /** Every message the server had in this range is in the batch or was stored before. */
  covered: UidRange;
  /**
   * The folder's HIGHESTMODSEQ as the run began (RFC 7162), when every stored row's flags are
   * known to be at least that recent; null when they are not (a full re-sync, no CONDSTORE).
   */
  flagsKnownAt: string | null;
}

export interface BatchWriteResult {
  inserted: number;
  updated: number;
  /** Row ids by UID, for follow-up jobs (parse-message). */
  idsByUid: Map<number, string>;
}

export interface FlagChange {
  uid: number;
  flags: string[];
  modseq: string | null;
}

export interface MessageLocation {
  message: MailMessage;
  folder: MailFolder;
}

/** A thread merged away (`loser`) and the thread that absorbed it. */
export interface ThreadMerge {
  loser: string;
  winner: string;
}

/** tenant, account, folder and UIDVALIDITY, shared by every row of an INSERT. */
const SHARED_PARAMETERS = 4;
const PER_ROW_PARAMETERS = 23;
/** The protocol allows 65,535 bind parameters per statement. */
const ROWS_PER_INSERT = Math.floor((65_535 - SHARED_PARAMETERS) / PER_ROW_PARAMETERS);

/** In-Reply-To and every References entry: what the message refers to, each id once. */
function referencedIdsOf(message: Pick<SyncedMessage, 'inReplyTo' | 'references'>): string[] {
  return [...new Set([message.inReplyTo, ...message.references].filter((id): id is string => Boolean(id)))];
}

/**
 * Synced messages of the current tenant. Writes are per batch: the rows, their attachments and
 * the folder's progress commit together (one transaction, opened by the worker's
 * MessageBatchWriter), so a killed sync resumes after the last whole batch and a re-run upserts
 * the same rows instead of adding new ones.
 */
@Injectable()
export class MessageRepository {
  constructor(private readonly scope: TenantScope) {}

  /**
   * Upserts one batch of a folder's messages with the threads decided for them, their attachments
   * and the Message-IDs they refer to. Part of the batch's transaction (see MessageBatchWriter in
   * the worker): `messages` in ascending UID order, the folder's progress moved by `advanceFolder`.
   */
  async storeBatch(
    position: FolderPosition,
    messages: SyncedMessage[],
    threads: ReadonlyMap<number, string>,
  ): Promise<BatchWriteResult> {
    return this.scope.transaction(async (manager, tenantId) => {
      const written: { id: string; uid: string; inserted: boolean }[] = [];
      for (let offset = 0; offset < messages.length; offset += ROWS_PER_INSERT) {
        const part = messages.slice(offset, offset + ROWS_PER_INSERT);
        // Plain bind parameters, not one JSON document: PostgreSQL reads a text parameter as is,
        // while a JSON batch of message bodies costs a full parse and unescape per write.
        const values = part.flatMap((message) => [
          message.uid,
          message.modseq,
          message.messageId,
          message.inReplyTo,
          message.references,
          threads.get(message.uid),
          message.subject,
          message.fromName,
          message.fromAddress,
          JSON.stringify(message.to),
          JSON.stringify(message.cc),
          JSON.stringify(message.bcc),
          JSON.stringify(message.replyTo),
          message.sentAt?.toISOString() ?? null,
          message.receivedAt.toISOString(),
          message.flags,
          message.size,
          message.hasAttachments,
          message.snippet,
          message.textBody,
          message.htmlBody,
          message.headers === null ? null : JSON.stringify(message.headers),
          message.parseState,
        ]);
        const tuples = part.map((_, row) => {
          const first = SHARED_PARAMETERS + row * PER_ROW_PARAMETERS + 1;
          return `($1, $2, $3, $4, ${Array.from({ length: PER_ROW_PARAMETERS }, (_, column) => `$${first + column}`).join(', ')})`;
        });
        written.push(
          ...(await manager.query<{ id: string; uid: string; inserted: boolean }[]>(
            `INSERT INTO "mail_messages" ("tenant_id", "account_id", "folder_id", "uid_validity", "uid", "modseq", "message_id",
               "in_reply_to", "references", "thread_id", "subject", "from_name", "from_address", "to", "cc", "bcc", "reply_to",
               "sent_at", "received_at", "flags", "size", "has_attachments", "snippet", "text_body", "html_body", "headers", "parse_state")
             VALUES ${tuples.join(', ')}
             ON CONFLICT ON CONSTRAINT "uq_mail_messages_imap_identity" DO UPDATE SET
               "modseq" = EXCLUDED."modseq", "message_id" = EXCLUDED."message_id", "in_reply_to" = EXCLUDED."in_reply_to",
               "references" = EXCLUDED."references", "thread_id" = EXCLUDED."thread_id", "subject" = EXCLUDED."subject",
               "from_name" = EXCLUDED."from_name", "from_address" = EXCLUDED."from_address", "to" = EXCLUDED."to",
               "cc" = EXCLUDED."cc", "bcc" = EXCLUDED."bcc", "reply_to" = EXCLUDED."reply_to", "sent_at" = EXCLUDED."sent_at",
               "received_at" = EXCLUDED."received_at", "flags" = EXCLUDED."flags", "size" = EXCLUDED."size",
               "has_attachments" = EXCLUDED."has_attachments", "headers" = EXCLUDED."headers", "updated_at" = now(),
               -- an envelope-only pass (parsing switched off) must not erase bodies decoded earlier
               "snippet" = CASE WHEN EXCLUDED."parse_state" = 'envelope' AND "mail_messages"."parse_state" = 'parsed' THEN "mail_messages"."snippet" ELSE EXCLUDED."snippet" END,
               "text_body" = CASE WHEN EXCLUDED."parse_state" = 'envelope' AND "mail_messages"."parse_state" = 'parsed' THEN "mail_messages"."text_body" ELSE EXCLUDED."text_body" END,
               "html_body" = CASE WHEN EXCLUDED."parse_state" = 'envelope' AND "mail_messages"."parse_state" = 'parsed' THEN "mail_messages"."html_body" ELSE EXCLUDED."html_body" END,
               "parse_state" = CASE WHEN EXCLUDED."parse_state" = 'envelope' AND "mail_messages"."parse_state" = 'parsed' THEN 'parsed' ELSE EXCLUDED."parse_state" END
             RETURNING "id", "uid", ("xmax" = 0) AS "inserted"`,
            [tenantId, position.accountId, position.folderId, position.uidValidity, ...values],
          )),
        );
      }
      const idsByUid = new Map(written.map((row) => [Number(row.uid), row.id]));
      const insertedIds = new Set(written.filter((row) => row.inserted).map((row) => row.id));
      await this.replaceAttachments(manager, tenantId, messages, idsByUid, insertedIds);
      await this.storeReferences(manager, tenantId, position.accountId, messages, idsByUid, insertedIds);
      const inserted = insertedIds.size;
      return { inserted, updated: written.length - inserted, idsByUid };
    });
  }

  /** Moves every stored message of a merged-away thread to the thread that absorbed it. */
  async mergeThreads(accountId: string, merges: ThreadMerge[]): Promise<void> {
    if (merges.length === 0) return;
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "mail_messages" m SET "thread_id" = p.winner FROM jsonb_to_recordset($3::jsonb) AS p(loser uuid, winner uuid)
         WHERE m."tenant_id" = $1 AND m."account_id" = $2 AND m."thread_id" = p.loser`,
        [tenantId, accountId, JSON.stringify(merges)],
      ),
    );
  }

  /** The folder's progress after a batch that added `inserted` rows. */
  async advanceFolder(position: FolderPosition, progress: FolderProgress, inserted: number): Promise<void> {
    await this.scope.transaction((manager, tenantId) =>
      manager.query(
        `UPDATE "mail_folders" SET "stored_uids" = "stored_uids" + int8multirange(int8range($3, $4, '[]')),
           "last_uid" = GREATEST("last_uid", $4), "synced_count" = "synced_count" + $5,
           "highest_modseq" = coalesce($6, "highest_modseq"), "updated_at" = now()
         WHERE "tenant_id" = $1 AND "id" = $2`,
        [tenantId, position.folderId, progress.covered.first, progress.covered.last, inserted, progress.flagsKnownAt],
      ),
    );
  }

  /** PostgreSQL's estimate of the rows in mail_messages (pg_class.reltuples): -1 before its first ANALYZE. */
  async estimatedRowCount(): Promise<number> {
    return this.scope.transaction(async (manager) => {
      const [row] = await manager.query<{ estimate: number }[]>(
        `SELECT "reltuples" AS "estimate" FROM pg_class WHERE "oid" = 'public.mail_messages'::regclass`,
      );
      return Number(row?.estimate ?? -1);
    });
  }

  /**
   * ANALYZE of the tables a sync fills, with the owner's rights (migration ProgressiveSync); false
   * when another caller is running it already.
   */
  async refreshStatistics(): Promise<boolean> {
    return this.scope.transaction(async (manager) => {
      const [row] = await manager.query<{ analyzed: boolean }[]>(
        `SELECT public.analyze_after_bulk_sync() AS "analyzed"`,
      );
      return row?.analyzed ?? false;
    });
  }

  /** Stored UIDs of a folder above `afterUid`, ascending, at most `limit`: the local side of a UID diff. */
  async uidsAfter(position: FolderPosition, afterUid: number, limit: number): Promise<number[]> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { uid: string }[] = await manager.query(
        `SELECT "uid" FROM "mail_messages" WHERE "tenant_id" = $1 AND "folder_id" = $2 AND "uid_validity" = $3 AND "uid" > $4
         ORDER BY "uid" LIMIT $5`,
        [tenantId, position.folderId, position.uidValidity, afterUid, limit],
      );
      return rows.map((row) => Number(row.uid));
    });
  }

  async flagsOf(position: FolderPosition, uids: number[]): Promise<Map<number, string[]>> {
    if (uids.length === 0) return new Map();
    return this.scope.transaction(async (manager, tenantId) => {
      const rows: { uid: string; flags: string[] }[] = await manager.query(
        `SELECT "uid", "flags" FROM "mail_messages" WHERE "tenant_id" = $1 AND "folder_id" = $2 AND "uid_validity" = $3 AND "uid" = ANY($4::bigint[])`,
        [tenantId, position.folderId, position.uidValidity, uids],
      );
      return new Map(rows.map((row) => [Number(row.uid), row.flags]));
    });
  }

  async countInFolder(position: FolderPosition): Promise<number> {
    return this.scope.transaction(async (manager, tenantId) => {
      const [row] = await manager.query<{ count: string }[]>(
        `SELECT count(*) AS "count" FROM "mail_messages" WHERE "tenant_id" = $1 AND "folder_id" = $2 AND "uid_validity" = $3`,
        [tenantId, position.folderId, position.uidValidity],
      );
      return Number(row?.count ?? 0);
    });
  }

  /** Applies flag changes; returns how many stored rows changed. */
  async updateFlags(position: FolderPosition, changes: FlagChange[]): Promise<number> {
    if (changes.length === 0) return 0;
    return this.scope.transaction(async (manager, tenantId) => {
      // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE or DELETE.
      const [row] = await manager.query<{ count: string }[]>(
        `WITH changed AS (
           UPDATE "mail_messages" m SET "flags" = c.flags, "modseq" = COALESCE(c.modseq, m."modseq"), "updated_at" = now()
           FROM jsonb_to_recordset($4::jsonb) AS c(uid bigint, flags text[], modseq bigint)
           WHERE m."tenant_id" = $1 AND m."folder_id" = $2 AND m."uid_validity" = $3 AND m."uid" = c.uid
             AND (m."flags" IS DISTINCT FROM c.flags OR m."modseq" IS DISTINCT FROM COALESCE(c.modseq, m."modseq"))
           RETURNING m."id")
         SELECT count(*) AS "count" FROM changed`,
        [tenantId, position.folderId, position.uidValidity, JSON.stringify(changes)],
      );
      return Number(row?.count ?? 0);
    });
  }

  /** Removes messages the server expunged; returns how many rows went. */
  async removeUids(position: FolderPosition, uids: number[]): Promise<number> {
    if (uids.length === 0) return 0;
    return this.scope.transaction(async (manager, tenantId) => {
      const [row] = await manager.query<{ count: string }[]>(
        `WITH removed AS (
           DELETE FROM "mail_messages" WHERE "tenant_id" = $1 AND "folder_id" = $2 AND "uid_validity" = $3 AND "uid" = ANY($4::bigint[])
           RETURNING "id")
         SELECT count(*) AS "count" FROM removed`,
        [tenantId, position.folderId, position.uidValidity, uids],
      );
      const removed = Number(row?.count ?? 0);
      if (removed > 0) {
        await manager.query(
          `UPDATE "mail_folders" SET "synced_count" = GREATEST(0, "synced_count" - $3), "updated_at" = now() WHERE "tenant_id" = $1 AND "id" = $2`,
          [tenantId, position.folderId, removed],
        );
      }
      return removed;
    });
  }

  async locate(messageId: string): Promise<MessageLocation | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const message = await manager.findOneBy(MailMessage, { id: messageId, tenantId });
      if (!message) return null;
      const folder = await manager.findOneBy(MailFolder, { id: message.folderId, tenantId });
      return folder ? { message, folder } : null;
    });
  }

  /** Stores what a later parse (parse-message job) decoded for a message already synced. */
  async applyParsed(messageId: string, message: SyncedMessage): Promise<boolean> {
    return this.scope.transaction(async (manager, tenantId) => {
      const result = await manager.update(
        MailMessage,
        { id: messageId, tenantId },
        {
          subject: message.subject,
          fromName: message.fromName,
          fromAddress: message.fromAddress,
          to: message.to,
          cc: message.cc,
          bcc: message.bcc,
          replyTo: message.replyTo,
          sentAt: message.sentAt,
          hasAttachments: message.hasAttachments,
          snippet: message.snippet,
          textBody: message.textBody,
          htmlBody: message.htmlBody,
          headers: message.headers,
          parseState: message.parseState,
        },
      );
      if (!result.affected) return false;
      await this.replaceAttachments(manager, tenantId, [message], new Map([[message.uid, messageId]]));
      return true;
    });
  }

  private async replaceAttachments(
    manager: EntityManager,
    tenantId: string,
    messages: SyncedMessage[],
    idsByUid: Map<number, string>,
    insertedIds: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    // Rows just inserted have no attachments yet: only rewritten messages may have some to drop.
    const rewritten = messages
      .map((message) => idsByUid.get(message.uid))
      .filter((id): id is string => id !== undefined && !insertedIds.has(id));
    const rows = messages.flatMap((message) => {
      const id = idsByUid.get(message.uid);
      return id === undefined
        ? []
        : message.attachments.map((attachment) => ({
            message_id: id,
            part_id: attachment.partId,
            filename: attachment.filename,
            content_type: attachment.contentType.slice(0, 255),
            size: attachment.size,
            content_id: attachment.contentId,
            inline: attachment.inline,
          }));
    });
    const json = JSON.stringify(rows);
    if (rewritten.length > 0) {
      await manager.query(
        `DELETE FROM "mail_attachments" a WHERE a."tenant_id" = $1 AND a."message_id" = ANY($2::uuid[])
           AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($3::jsonb) AS r(message_id uuid, part_id text)
                           WHERE r.message_id = a."message_id" AND r.part_id = a."part_id")`,
        [tenantId, rewritten, json],
      );
    }
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO "mail_attachments" ("tenant_id", "message_id", "part_id", "filename", "content_type", "size", "content_id", "inline")
       SELECT $1, r.message_id, r.part_id, r.filename, r.content_type, r.size, r.content_id, r.inline
       FROM jsonb_to_recordset($2::jsonb) AS r(message_id uuid, part_id varchar, filename text, content_type varchar, size integer,
         content_id text, inline boolean)
       ON CONFLICT ON CONSTRAINT "uq_mail_attachments_message_part" DO UPDATE SET "filename" = EXCLUDED."filename",
         "content_type" = EXCLUDED."content_type", "size" = EXCLUDED."size", "content_id" = EXCLUDED."content_id", "inline" = EXCLUDED."inline"`,
      [tenantId, json],
    );
  }

  /**
   * The Message-IDs each message refers to, for threading from the parent's side. Rows of
   * messages written again are replaced; new messages have none to replace.
   */
  private async storeReferences(
    manager: EntityManager,
    tenantId: string,
    accountId: string,
    messages: SyncedMessage[],
    idsByUid: Map<number, string>,
    insertedIds: ReadonlySet<string>,
  ): Promise<void> {
    const rows = messages.flatMap((message) => {
      const id = idsByUid.get(message.uid);
      return id === undefined
        ? []
        : referencedIdsOf(message).map((referenced) => ({ message_id: id, referenced_id: referenced }));
    });
    const json = JSON.stringify(rows);
    const rewritten = [...idsByUid.values()].filter((id) => !insertedIds.has(id));
    if (rewritten.length > 0) {
      await manager.query(
        `DELETE FROM "mail_message_references" r WHERE r."tenant_id" = $1 AND r."message_id" = ANY($2::uuid[])
           AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($3::jsonb) AS n(message_id uuid, referenced_id text)
                           WHERE n.message_id = r."message_id" AND n.referenced_id = r."referenced_id")`,
        [tenantId, rewritten, json],
      );
    }
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO "mail_message_references" ("message_id", "referenced_id", "tenant_id", "account_id")
       SELECT n.message_id, n.referenced_id, $1, $2 FROM jsonb_to_recordset($3::jsonb) AS n(message_id uuid, referenced_id text)
       ON CONFLICT DO NOTHING`,
      [tenantId, accountId, json],
    );
  }
}
