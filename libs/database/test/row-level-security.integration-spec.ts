import { randomUUID } from 'node:crypto';

import { PREPARED_PER_CONNECTION, queryAsTenant } from '@app/tenancy';
import pg from 'pg';

const TENANT_OWNED_TABLES = [
  'mail_accounts',
  'mail_folders',
  'mail_messages',
  'mail_attachments',
  'mail_message_actions',
  'bulk_actions',
  'drafts',
  'send_records',
  'sync_runs',
];

async function withClient<T>(url: string | undefined, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('row-level security for the app role', () => {
  const tenant = `rls-${randomUUID().slice(0, 8)}`;
  const other = `rls-other-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // Seeded as the owner, bypassing the application entirely.
    await withClient(process.env.DATABASE_MIGRATION_URL, async (owner) => {
      for (const tenantId of [tenant, other]) {
        const accountId = randomUUID();
        const folderId = randomUUID();
        const messageId = randomUUID();
        await owner.query(
          `INSERT INTO mail_accounts (id, tenant_id, email, imap_host, imap_port, imap_security, imap_username, smtp_host, smtp_port, smtp_security, smtp_username, encrypted_password)
           VALUES ($1, $2, $3, 'h', 993, 'tls', 'u', 'h', 465, 'tls', 'u', 'x')`,
          [accountId, tenantId, `${tenantId}@example.test`],
        );
        await owner.query(
          `INSERT INTO mail_folders (id, tenant_id, account_id, path, name) VALUES ($1, $2, $3, 'INBOX', 'INBOX')`,
          [folderId, tenantId, accountId],
        );
        await owner.query(
          `INSERT INTO mail_messages (id, tenant_id, account_id, folder_id, uid_validity, uid, received_at, subject) VALUES ($1, $2, $3, $4, 1, 1, now(), 'secret')`,
          [messageId, tenantId, accountId, folderId],
        );
        await owner.query(
          `INSERT INTO mail_attachments (tenant_id, message_id, part_id, content_type) VALUES ($1, $2, '2', 'text/plain')`,
          [tenantId, messageId],
        );
        await owner.query(
          `INSERT INTO mail_message_actions (tenant_id, account_id, message_id, kind, change, origin) VALUES ($1, $2, $3, 'flags', '{}', '{}')`,
          [tenantId, accountId, messageId],
        );
        await owner.query(
          `INSERT INTO bulk_actions (tenant_id, account_id, action, total) VALUES ($1, $2, 'seen', 1)`,
          [tenantId, accountId],
        );
        await owner.query(`INSERT INTO drafts (tenant_id, account_id, version) VALUES ($1, $2, 1)`, [
          tenantId,
          accountId,
        ]);
        await owner.query(
          `INSERT INTO send_records (tenant_id, account_id, message_id, content) VALUES ($1, $2, '<m@x>', '{}')`,
          [tenantId, accountId],
        );
        await owner.query(`INSERT INTO sync_runs (tenant_id, account_id, trigger) VALUES ($1, $2, 'manual')`, [
          tenantId,
          accountId,
        ]);
      }
    });
  });

  it('every table with a tenant_id column forces row-level security with a tenant policy', async () => {
    const tables = await withClient(
      process.env.DATABASE_MIGRATION_URL,
      async (owner) =>
        (
          await owner.query<{ table: string; forced: boolean; policies: number }>(
            `SELECT c.relname AS table, c.relrowsecurity AND c.relforcerowsecurity AS forced,
                  (SELECT count(*)::int FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname AND p.qual LIKE '%app.tenant_id%') AS policies
             FROM information_schema.columns col
             JOIN pg_class c ON c.relname = col.table_name AND c.relkind IN ('r', 'p')
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = col.table_schema
            WHERE col.table_schema = 'public' AND col.column_name = 'tenant_id'
            ORDER BY c.relname`,
          )
        ).rows,
    );

    expect(tables.map((table) => table.table)).toEqual(
      expect.arrayContaining([...TENANT_OWNED_TABLES, 'mail_message_references', 'stored_attachments']),
    );
    expect(tables.filter((table) => !table.forced || table.policies === 0)).toEqual([]);
  });

  it.each(TENANT_OWNED_TABLES)('a raw query on %s without a tenant set returns no rows', async (table) => {
    const rows = await withClient(
      process.env.DATABASE_URL,
      async (app) => (await app.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows,
    );

    expect(rows).toEqual([]);
  });

  it.each(TENANT_OWNED_TABLES)('with a tenant set, %s shows exactly that tenant’s rows', async (table) => {
    const rows = await withClient(process.env.DATABASE_URL, async (app) => {
      await app.query('BEGIN');
      await app.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant]);
      const result = await app.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${table}`);
      await app.query('COMMIT');
      return result.rows;
    });

    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((row) => row.tenant_id))).toEqual(new Set([tenant]));
  });

  it('refuses to write a row of another tenant', async () => {
    const attempt = withClient(process.env.DATABASE_URL, async (app) => {
      await app.query('BEGIN');
      await app.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant]);
      await app.query(
        `INSERT INTO sync_runs (tenant_id, account_id, trigger) SELECT $1, id, 'manual' FROM mail_accounts LIMIT 1`,
        [other],
      );
    });

    await expect(attempt).rejects.toThrow(/row-level security/);
  });

  describe('one statement as a tenant in one round trip', () => {
    it('sees exactly that tenant’s rows, and the next statement on the connection sees none', async () => {
      const [scoped, after] = await withClient(process.env.DATABASE_URL, async (app) => [
        await queryAsTenant<{ tenant_id: string }>(app, tenant, 'SELECT tenant_id FROM mail_messages', []),
        (
          await app.query<{ setting: string; visible: number }>(
            `SELECT current_setting('app.tenant_id', true) AS setting, (SELECT count(*)::int FROM mail_messages) AS visible`,
          )
        ).rows[0],
      ]);

      expect(scoped.map((row) => row.tenant_id)).toEqual([tenant]);
      expect(after).toEqual({ setting: '', visible: 0 });
    });

    it('binds the statement’s values as parameters', async () => {
      const rows = await withClient(process.env.DATABASE_URL, async (app) =>
        queryAsTenant<{ subject: string }>(
          app,
          other,
          'SELECT subject FROM mail_messages WHERE tenant_id = $1 AND subject = $2',
          [other, 'secret'],
        ),
      );

      expect(rows).toEqual([{ subject: 'secret' }]);
    });

    it('leaves nothing set behind when the statement fails', async () => {
      const after = await withClient(process.env.DATABASE_URL, async (app) => {
        await expect(
          queryAsTenant(app, tenant, 'SELECT 1 / (count(*) - count(*)) FROM mail_messages', []),
        ).rejects.toThrow(/division by zero/);
        return (await app.query<{ visible: number }>('SELECT count(*)::int AS visible FROM mail_messages')).rows[0];
      });

      expect(after).toEqual({ visible: 0 });
    });

    it('keeps a repeated statement prepared once per connection, and it stays scoped to each call’s tenant', async () => {
      const text = 'SELECT tenant_id FROM mail_messages';
      const { seen, planning, prepared } = await withClient(process.env.DATABASE_URL, async (app) => ({
        seen: [
          ...(await queryAsTenant<{ tenant_id: string }>(app, tenant, text, [])),
          ...(await queryAsTenant<{ tenant_id: string }>(app, other, text, [])),
          ...(await queryAsTenant<{ tenant_id: string }>(app, tenant, text, [])),
        ].map((row) => row.tenant_id),
        planning: await queryAsTenant<{ mode: string }>(
          app,
          tenant,
          `SELECT current_setting('plan_cache_mode') AS mode`,
          [],
        ),
        prepared: (await app.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).rows.map(
          (row) => row.statement,
        ),
      }));

      expect(seen).toEqual([tenant, other, tenant]);
      expect(planning).toEqual([{ mode: 'force_custom_plan' }]);
      expect(prepared.filter((statement) => statement === text)).toHaveLength(1);
      expect(prepared).toHaveLength(3);
    });

    it('closes the least recently used statements beyond the per-connection limit', async () => {
      const count = await withClient(process.env.DATABASE_URL, async (app) => {
        for (let index = 0; index < PREPARED_PER_CONNECTION + 20; index += 1)
          await queryAsTenant(app, tenant, `SELECT ${index} AS n FROM mail_messages`, []);
        const [first] = await queryAsTenant<{ n: number }>(app, tenant, 'SELECT 0 AS n FROM mail_messages', []);
        expect(first).toEqual({ n: 0 });
        return (await app.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_prepared_statements')).rows[0]
          ?.count;
      });

      // The limit of the tenant's statements, and the one that sets the tenant.
      expect(count).toBe(PREPARED_PER_CONNECTION + 1);
    });

    it('runs a statement again after it failed, whether its parse or its execution failed', async () => {
      const rows = await withClient(process.env.DATABASE_URL, async (app) => {
        // The connection's first statement, so its round trip also prepares the one that sets the tenant.
        const later = 'SELECT count(*)::int AS n FROM pg_temp.created_later';
        await expect(queryAsTenant(app, tenant, later, [])).rejects.toThrow(/does not exist/);
        await app.query('CREATE TEMPORARY TABLE created_later (id int)');
        const divide = 'SELECT (1 / (count(*) - $1::int))::int AS n FROM mail_messages';
        await expect(queryAsTenant(app, tenant, divide, [1])).rejects.toThrow(/division by zero/);
        return [
          ...(await queryAsTenant<{ n: number }>(app, tenant, later, [])),
          ...(await queryAsTenant<{ n: number }>(app, tenant, divide, [0])),
        ];
      });

      expect(rows).toEqual([{ n: 0 }, { n: 1 }]);
    });
  });

  it('the app role is neither superuser nor exempt from row-level security', async () => {
    const role = await withClient(
      process.env.DATABASE_URL,
      async (app) =>
        (
          await app.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
            'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
          )
        ).rows[0],
    );

    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
  });
});
