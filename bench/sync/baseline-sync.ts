import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import pg from 'pg';

export interface BaselineTarget {
  databaseUrl: string;
  imap: { host: string; port: number; user: string; password: string };
  tenantId: string;
  accountId: string;
  folderId: string;
}

function addresses(field: AddressObject | AddressObject[] | undefined): { name: string; address: string }[] {
  const list = field ? (Array.isArray(field) ? field : [field]) : [];
  return list.flatMap((object) => object.value.map((entry) => ({ name: entry.name, address: entry.address ?? '' })));
}

const COLUMNS = 14;

/**
 * The naive script the engine is measured against: one FETCH of every full source, mailparser on
 * each in turn, rows inserted 500 at a time (pg-copy-streams is not installed, so multi-row INSERT
 * instead of COPY) into the same table the engine writes.
 */
export async function baselineSync(target: BaselineTarget): Promise<number> {
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const client = new ImapFlow({ host: target.imap.host, port: target.imap.port, secure: false, doSTARTTLS: false, auth: { user: target.imap.user, pass: target.imap.password }, logger: false, disableAutoIdle: true });
  await client.connect();
  let rows: unknown[][] = [];
  let total = 0;
  const flush = async (): Promise<void> => {
    if (rows.length === 0) return;
    const values = rows.map((_, row) => `(${Array.from({ length: COLUMNS }, (_, column) => `$${row * COLUMNS + column + 1}`).join(', ')})`).join(', ');
    await db.query(
      `INSERT INTO "mail_messages" ("tenant_id", "account_id", "folder_id", "uid_validity", "uid", "message_id", "subject", "from_address",
         "to", "received_at", "flags", "size", "text_body", "html_body") VALUES ${values}`,
      rows.flat(),
    );
    total += rows.length;
    rows = [];
  };
  try {
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    const pending: { uid: number; source: Buffer; flags: string[]; size: number; internalDate: Date }[] = [];
    for await (const message of client.fetch('1:*', { uid: true, source: true, flags: true, size: true, internalDate: true })) {
      if (message.source) pending.push({ uid: message.uid, source: message.source, flags: [...(message.flags ?? [])], size: message.size ?? 0, internalDate: new Date(message.internalDate ?? 0) });
      if (pending.length >= 500) await drain();
    }
    await drain();
    await flush();

    async function drain(): Promise<void> {
      for (const message of pending.splice(0)) {
        const parsed = await simpleParser(message.source);
        rows.push([
          target.tenantId, target.accountId, target.folderId, mailbox.uidValidity.toString(), message.uid, parsed.messageId ?? null,
          parsed.subject ?? null, parsed.from?.value[0]?.address ?? null, JSON.stringify(addresses(parsed.to)), message.internalDate,
          message.flags, message.size, parsed.text ?? null, typeof parsed.html === 'string' ? parsed.html : null,
        ]);
        if (rows.length >= 500) await flush();
      }
    }
    return total;
  } finally {
    await client.logout().catch(() => client.close());
    await db.end();
  }
}
