import { loadConfigOrExit } from '@app/config';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { provisionAppRole } from '../app-role.js';
import { migrationDataSourceOptions } from '../data-source-options.js';

/**
 * The one-shot migration step of every deployment (compose `migrate` service, Kubernetes Job,
 * `npm start`): creates the database when it does not exist yet, applies pending migrations as
 * the owner, then provisions the apps' role.
 */
async function createDatabaseIfMissing(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const databaseName = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`);
      process.stdout.write(`Created database ${databaseName}\n`);
    }
  } finally {
    await client.end();
  }
}

async function migrate(): Promise<void> {
  const config = loadConfigOrExit();
  await createDatabaseIfMissing(config.databaseMigrationUrl);
  const dataSource = new DataSource(migrationDataSourceOptions(config, 'email_service-migrate'));
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    process.stdout.write(
      `Applied ${applied.length} migration(s)${applied.length ? `: ${applied.map((m) => m.name).join(', ')}` : ''}\n`,
    );
  } finally {
    await dataSource.destroy();
  }
  const role = await provisionAppRole(config.databaseMigrationUrl, config.databaseUrl);
  if (role) process.stdout.write(`App role ${role} may use the tables, subject to row-level security\n`);
}

await migrate();
