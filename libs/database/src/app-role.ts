import pg from 'pg';

/**
 * Makes sure the role in DATABASE_URL exists, can log in and may read and write the tables,
 * but is neither superuser nor exempt from row-level security. Run with the owner connection;
 * nothing to do when both URLs name the same role.
 */
export async function provisionAppRole(ownerUrl: string, appUrl: string): Promise<string | null> {
  const app = new URL(appUrl);
  const owner = new URL(ownerUrl);
  const role = decodeURIComponent(app.username);
  if (!role || role === decodeURIComponent(owner.username)) return null;

  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const name = client.escapeIdentifier(role);
    const password = app.password ? `PASSWORD ${client.escapeLiteral(decodeURIComponent(app.password))}` : '';
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (rowCount === 0) {
      // Concurrent provisioning (two test runs, two migrate jobs) may race to create it.
      await client.query(`CREATE ROLE ${name}`).catch((error: unknown) => {
        if (!(error instanceof Error && 'code' in error && error.code === '42710')) throw error;
      });
    }
    await client.query(`ALTER ROLE ${name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE ${password}`);
    const database = client.escapeIdentifier(decodeURIComponent(owner.pathname.slice(1)));
    await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${name}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${name}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`);
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${name}`);
    // The schema's history belongs to the migration step alone.
    await client.query(`REVOKE ALL ON "schema_migrations", "typeorm_metadata" FROM ${name}`);
    return role;
  } finally {
    await client.end();
  }
}
