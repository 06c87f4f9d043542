import type pg from 'pg';

export interface SeededMailbox {
  tenantId: string;
  accountId: string;
  inboxId: string;
}

/** Common words get picked far more often than rare ones, as in real text (roughly Zipf). */
const VOCABULARY = [
  ...'the and for you with this that have from your will are not our can all please thanks meeting report budget project update team review'.split(
    ' ',
  ),
  ...'schedule customer order delivery contract draft proposal question answer travel lunch office holiday release version invoice'.split(
    ' ',
  ),
  ...Array.from({ length: 3000 }, (_, index) => `term${index}`),
];

/**
 * Fills one tenant's mailbox with `count` synthetic messages in a single INSERT ... SELECT, so
 * PostgreSQL generates the rows (and their search vectors) without a round trip per message:
 * 70% INBOX, 20% Sent, 10% Archive; 500 senders with a skewed share; ~40-word bodies; one in
 * three unread, one in seven with attachments, one in forty flagged; one message every 5 minutes.
 */
export async function seedMailbox(
  client: pg.Client,
  tenantId: string,
  count: number,
  seed: number,
): Promise<SeededMailbox> {
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.tenant_id', $1, true), setseed($2)`, [tenantId, seed]);
  await client.query(`INSERT INTO tenants (id) VALUES ($1) ON CONFLICT DO NOTHING`, [tenantId]);
  const {
    rows: [account],
  } = await client.query<{ id: string }>(
    `INSERT INTO mail_accounts (tenant_id, email, imap_host, imap_port, imap_security, imap_username, smtp_host, smtp_port, smtp_security, smtp_username, encrypted_password)
     VALUES ($1::text, 'me@' || $1::text || '.test', 'imap.test', 993, 'tls', 'me', 'smtp.test', 465, 'tls', 'me', 'bench') RETURNING id`,
    [tenantId],
  );
  if (!account) throw new Error('account insert returned nothing');
  const folders = await client.query<{ id: string; path: string }>(
    `INSERT INTO mail_folders (tenant_id, account_id, path, name, delimiter, role)
     VALUES ($1, $2, 'INBOX', 'INBOX', '/', 'inbox'), ($1, $2, 'Sent', 'Sent', '/', 'sent'), ($1, $2, 'Archive', 'Archive', '/', 'archive')
     RETURNING id, path`,
    [tenantId, account.id],
  );
  const folderId = (path: string): string => folders.rows.find((row) => row.path === path)?.id ?? '';
  await client.query(
    `INSERT INTO mail_messages (tenant_id, account_id, folder_id, uid_validity, uid, message_id, subject, from_name, from_address,
       "to", received_at, sent_at, flags, size, has_attachments, snippet, text_body, parse_state)
     SELECT $1::text, $2, CASE WHEN g % 10 < 7 THEN $3::uuid WHEN g % 10 < 9 THEN $4::uuid ELSE $5::uuid END, 1, g,
            '<' || g || '.' || $1::text || '@bench.test>', body.subject, 'Sender ' || sender.n, 'sender' || sender.n || '@example' || (sender.n % 20) || '.com',
            jsonb_build_array(jsonb_build_object('name', 'Me', 'address', 'me@' || $1::text || '.test')),
            timestamptz '2026-01-01' - g * interval '5 minutes', timestamptz '2026-01-01' - g * interval '5 minutes' - interval '1 minute',
            CASE WHEN g % 3 = 0 THEN ARRAY[]::text[] WHEN g % 40 = 1 THEN ARRAY['\\Seen', '\\Flagged'] ELSE ARRAY['\\Seen'] END,
            2000 + length(body.text), g % 7 = 0, left(body.text, 120), body.text, 'parsed'
     FROM generate_series(1, $6::int) AS g
     CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 2) * 500)::int + 0 * g AS n) AS sender
     CROSS JOIN LATERAL (
       SELECT string_agg(word, ' ') FILTER (WHERE position <= 6) AS subject, string_agg(word, ' ') AS text
       FROM (
         SELECT position, ($7::text[])[1 + floor(power(random(), 3) * array_length($7::text[], 1))::int + 0 * g] AS word
         FROM generate_series(1, 40) AS position
       ) AS words
     ) AS body`,
    [tenantId, account.id, folderId('INBOX'), folderId('Sent'), folderId('Archive'), count, VOCABULARY],
  );
  await client.query(
    `UPDATE mail_folders f SET message_count = counts.total, unseen_count = counts.unseen
     FROM (SELECT folder_id, count(*) AS total, count(*) FILTER (WHERE NOT ('\\Seen' = ANY(flags))) AS unseen
           FROM mail_messages WHERE tenant_id = $1 GROUP BY folder_id) AS counts
     WHERE f.id = counts.folder_id AND f.tenant_id = $1`,
    [tenantId],
  );
  await client.query('COMMIT');
  return { tenantId, accountId: account.id, inboxId: folderId('INBOX') };
}

/** The mailbox an earlier run seeded for `tenantId`. */
export async function seededMailbox(client: pg.Client, tenantId: string): Promise<SeededMailbox> {
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
  const { rows } = await client.query<{ accountId: string; inboxId: string }>(
    `SELECT a.id AS "accountId", f.id AS "inboxId" FROM mail_accounts a JOIN mail_folders f ON f.account_id = a.id AND f.tenant_id = $1
     WHERE a.tenant_id = $1 AND f.path = 'INBOX'`,
    [tenantId],
  );
  await client.query('COMMIT');
  const [mailbox] = rows;
  if (!mailbox) throw new Error(`no seeded mailbox for ${tenantId}`);
  return { tenantId, ...mailbox };
}
