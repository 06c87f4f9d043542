import pg from 'pg';

/** `adminUrl` pointed at database `name`, logged in as `role` (password = role name) when given. */
export function benchDatabaseUrl(adminUrl: string, name: string, role?: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (role) {
    url.username = role;
    url.password = role;
  }
  return url.toString();
}

/** One statement as the superuser of `adminUrl` (CREATE/DROP DATABASE), on a connection of its own. */
export async function runAsAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
