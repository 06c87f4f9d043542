import { join } from 'node:path';

import type { AppConfig } from '@app/config';
import type { DataSourceOptions } from 'typeorm';

import { ENTITIES } from './entities/index.js';

/**
 * The one description of the database connection, shared by the apps and the migration tools.
 * The apps never run migrations, so their connection does not load them. Nor do tests, which take
 * DatabaseModule as the apps do: the migrations glob is loaded with a dynamic import() at every
 * DataSource start, which Jest's ESM runtime cannot repeat for a second test file in the same worker
 * (its module registry is torn down), and the test run's global setup has migrated the database.
 */
export function dataSourceOptions(
  config: AppConfig,
  applicationName: string,
  url = config.databaseUrl,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    applicationName,
    entities: ENTITIES,
    migrationsTableName: 'schema_migrations',
    // gen_random_uuid() is built into PostgreSQL 13+; the app role may not create extensions.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    synchronize: false,
    migrationsRun: false,
    poolSize: config.databasePoolSize,
    extra: { connectionTimeoutMillis: 5_000 },
  };
}

/** The owner's connection with the migrations: for the migrate step, the TypeORM CLI and benchmarks that build a database. */
export function migrationDataSourceOptions(
  config: AppConfig,
  applicationName: string,
  url = config.databaseMigrationUrl,
): DataSourceOptions {
  return {
    ...dataSourceOptions(config, applicationName, url),
    migrations: [join(import.meta.dirname, 'migrations', '*.{ts,js}')],
  };
}
