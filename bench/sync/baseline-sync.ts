import { once } from 'node:events';
import { finished } from 'node:stream/promises';

import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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

/** One CSV field: NULL is an unquoted empty field, everything else is quoted with quotes doubled. */
function csvField(value: string | number | null): string {
  return value === null ? '' : `"${String(value).replaceAll('"', '""')}"`;
}

/** A PostgreSQL text[] literal (array elements quoted, backslash and quote escaped). */
function textArray(values: string[]): string {
  return `{${values.map((value) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

/**
 * The naive script the engine is measured against: one FETCH of every full source, mailparser on
 * each in turn on the one thread, every row streamed through a single COPY into the same table
 * the engine writes (one transaction, nothing resumable).
 */
export async function baselineSync(target: BaselineTarget): Promise<number> {
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const client = new ImapFlow({
    host: target.imap.host,
    port: target.imap.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: target.imap.user, pass: target.imap.password },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  let total = 0;
  try {
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    const copy = db.query(
      copyFrom(
        `COPY "mail_messages" ("tenant_id", "account_id", "folder_id", "uid_validity", "uid", "message_id", "subject", "from_address",
           "to", "received_at", "flags", "size", "text_body", "html_body") FROM STDIN WITH (FORMAT csv)`,
      ),
    );
    const pending: { uid: number; source: Buffer; flags: string[]; size: number; internalDate: Date }[] = [];
    const drain = async (): Promise<void> => {
      for (const message of pending.splice(0)) {
        const parsed = await simpleParser(message.source);
        const line = [
          target.tenantId,
          target.accountId,
          target.folderId,
          mailbox.uidValidity.toString(),
          message.uid,
          parsed.messageId ?? null,
          parsed.subject ?? null,
          parsed.from?.value[0]?.address ?? null,
          JSON.stringify(addresses(parsed.to)),
          message.internalDate.toISOString(),
          textArray(message.flags),
          message.size,
          parsed.text ?? null,
          typeof parsed.html === 'string' ? parsed.html : null,
        ]
          .map(csvField)
          .join(',');
        total += 1;
        if (!copy.write(`${line}\n`)) await once(copy, 'drain');
      }
    };
    for await (const message of client.fetch('1:*', {
      uid: true,
      source: true,
      flags: true,
      size: true,
      internalDate: true,
    })) {
      if (message.source)
        pending.push({
          uid: message.uid,
          source: message.source,
          flags: [...(message.flags ?? [])],
          size: message.size ?? 0,
          internalDate: new Date(message.internalDate ?? 0),
        });
      if (pending.length >= 500) await drain();
    }
    await drain();
    copy.end();
    await finished(copy);
    return total;
  } finally {
    await client.logout().catch(() => client.close());
    await db.end();
  }
}
