import { randomUUID } from 'node:crypto';

import type { MailAddress } from '@app/database';
import pg from 'pg';

export interface FixtureFolder {
  path: string;
  role?: string;
  delimiter?: string;
  messageCount?: number;
  unseenCount?: number;
}

export interface FixtureAttachment {
  partId: string;
  filename: string | null;
  contentType: string;
  size: number;
  contentId?: string;
  inline?: boolean;
}

export interface FixtureMessage {
  key: string;
  folder: string;
  receivedAt: string;
  sentAt?: string;
  subject?: string;
  from?: MailAddress;
  to?: MailAddress[];
  cc?: MailAddress[];
  bcc?: MailAddress[];
  replyTo?: MailAddress[];
  flags?: string[];
  snippet?: string;
  textBody?: string;
  htmlBody?: string;
  headers?: Record<string, string | string[]>;
  hasAttachments?: boolean;
  attachments?: FixtureAttachment[];
  /** Messages with the same thread key share a thread id. */
  thread?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
}

export interface Mailbox {
  tenantId: string;
  accountId: string;
  folderIds: Record<string, string>;
  messageIds: Record<string, string>;
  threadIds: Record<string, string>;
  attachmentIds: Record<string, string>;
}

/**
 * Writes an account with folders and messages straight into PostgreSQL as the schema owner, the
 * way the sync engine would leave them, so read endpoints can be tested without an IMAP server.
 * `ownerUrl` is the run's database unless a test (a cron's) has a database of its own.
 */
export async function insertMailbox(
  tenantId: string,
  email: string,
  folders: FixtureFolder[],
  messages: FixtureMessage[],
  ownerUrl = process.env.DATABASE_MIGRATION_URL,
): Promise<Mailbox> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO tenants (id) VALUES ($1) ON CONFLICT DO NOTHING`, [tenantId]);
    const accountId = randomUUID();
    await client.query(
      `INSERT INTO mail_accounts (id, tenant_id, email, imap_host, imap_port, imap_security, imap_username, smtp_host, smtp_port, smtp_security, smtp_username, encrypted_password)
       VALUES ($1, $2, $3, 'imap.test', 993, 'tls', $3, 'smtp.test', 465, 'tls', $3, 'not-a-secret')`,
      [accountId, tenantId, email],
    );
    const folderIds: Record<string, string> = {};
    for (const folder of folders) {
      const id = randomUUID();
      folderIds[folder.path] = id;
      const name = folder.path.split(folder.delimiter ?? '/').at(-1) ?? folder.path;
      await client.query(
        `INSERT INTO mail_folders (id, tenant_id, account_id, path, name, delimiter, role, message_count, unseen_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          id,
          tenantId,
          accountId,
          folder.path,
          name,
          folder.delimiter ?? '/',
          folder.role ?? null,
          folder.messageCount ?? 0,
          folder.unseenCount ?? 0,
        ],
      );
    }
    const messageIds: Record<string, string> = {};
    const threadIds: Record<string, string> = {};
    const attachmentIds: Record<string, string> = {};
    let uid = 0;
    for (const message of messages) {
      const id = randomUUID();
      messageIds[message.key] = id;
      uid += 1;
      const threadId = message.thread ? (threadIds[message.thread] ??= randomUUID()) : null;
      const folderId = folderIds[message.folder];
      if (!folderId) throw new Error(`fixture message ${message.key} names unknown folder ${message.folder}`);
      await client.query(
        `INSERT INTO mail_messages (id, tenant_id, account_id, folder_id, uid_validity, uid, message_id, in_reply_to, "references", thread_id,
           subject, from_name, from_address, "to", cc, bcc, reply_to, sent_at, received_at, flags, size, has_attachments, snippet,
           text_body, html_body, headers, parse_state)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, 'parsed')`,
        [
          id,
          tenantId,
          accountId,
          folderId,
          uid,
          message.messageId ?? `<${message.key}.${id}@fixture.test>`,
          message.inReplyTo ?? null,
          message.references ?? [],
          threadId,
          message.subject ?? null,
          message.from?.name ?? null,
          message.from?.address ?? null,
          JSON.stringify(message.to ?? []),
          JSON.stringify(message.cc ?? []),
          JSON.stringify(message.bcc ?? []),
          JSON.stringify(message.replyTo ?? []),
          message.sentAt ?? message.receivedAt,
          message.receivedAt,
          message.flags ?? [],
          (message.textBody ?? '').length + 500,
          message.hasAttachments ?? (message.attachments?.length ?? 0) > 0,
          message.snippet ?? message.textBody?.slice(0, 120) ?? null,
          message.textBody ?? null,
          message.htmlBody ?? null,
          message.headers ? JSON.stringify(message.headers) : null,
        ],
      );
      for (const attachment of message.attachments ?? []) {
        const attachmentId = randomUUID();
        attachmentIds[`${message.key}/${attachment.partId}`] = attachmentId;
        await client.query(
          `INSERT INTO mail_attachments (id, tenant_id, message_id, part_id, filename, content_type, size, content_id, inline)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            attachmentId,
            tenantId,
            id,
            attachment.partId,
            attachment.filename,
            attachment.contentType,
            attachment.size,
            attachment.contentId ?? null,
            attachment.inline ?? false,
          ],
        );
      }
    }
    await client.query('COMMIT');
    return { tenantId, accountId, folderIds, messageIds, threadIds, attachmentIds };
  } catch (error: unknown) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * Runs a statement as the schema owner (a superuser in tests, so row-level security hides no
 * tenant's rows): to arrange rows, count them across tenants, or check the schema is still intact
 * after a hostile query. `connectionString` is the run's database unless a test has its own.
 */
export async function ownerQuery<T extends pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
  connectionString = process.env.DATABASE_MIGRATION_URL,
): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
