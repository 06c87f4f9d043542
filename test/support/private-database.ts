import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import { PROJECT_ROOT } from './project-root.js';

const run = promisify(execFile);

/**
 * A database of a test's own next to the run's, migrated by the built migrate step, for cases whose
 * scheduler must act on every tenant without touching the records of test files running beside it.
 * Named after the run's database, so a killed run's leftover is dropped with it (global setup).
 */
export class PrivateDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly migrationUrl: string,
  ) {}

  static async create(label: string): Promise<PrivateDatabase> {
    const name = `${process.env.TEST_DATABASE_NAME ?? 'mail_test_local'}_${label}_${randomBytes(3).toString('hex')}`;
    const rename = (source: string | undefined): string => {
      const url = new URL(source ?? '');
      url.pathname = `/${name}`;
      return url.toString();
    };
    const database = new PrivateDatabase(
      name,
      rename(process.env.DATABASE_URL),
      rename(process.env.DATABASE_MIGRATION_URL),
    );
    await run(process.execPath, [join(PROJECT_ROOT, 'dist', 'libs', 'database', 'src', 'cli', 'migrate.js')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: database.url, DATABASE_MIGRATION_URL: database.migrationUrl },
    });
    return database;
  }

  /** The owner's connection, which sees every tenant's rows. */
  async query<Row extends pg.QueryResultRow>(sql: string, parameters: unknown[] = []): Promise<Row[]> {
    const client = new pg.Client({ connectionString: this.migrationUrl });
    await client.connect();
    try {
      return (await client.query<Row>(sql, parameters)).rows;
    } finally {
      await client.end();
    }
  }

  async drop(): Promise<void> {
    const admin = new URL(this.migrationUrl);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(this.name)} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
}
