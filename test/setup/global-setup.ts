import { loadConfig } from '@app/config';
import { dataSourceOptions, provisionAppRole } from '@app/database';
import { DataSource } from 'typeorm';

import { startMailStack } from '../infra/mail-stack.js';
import {
  createDatabase,
  databaseUrlFor,
  dropStaleDatabases,
  findFreePortRange,
  newRunNames,
  TEST_REDIS_URL,
} from './test-services.js';

/** The apps under test connect as this role, so row-level security applies to them as in production. */
const TEST_APP_ROLE = 'email_service_test_app';

function appRoleUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  url.username = TEST_APP_ROLE;
  url.password = TEST_APP_ROLE;
  return url.toString();
}

/** Ports the mail stack takes above its base port (see test/infra/README.md). */
const MAIL_STACK_PORTS = 8;

interface SharedRun {
  users: number;
}

declare global {
  var mailServiceTestRun: SharedRun | undefined;
}

/**
 * Runs once per jest project that needs services; the integration and e2e projects of one
 * `jest` invocation share a single run (database, Redis prefix, mail servers).
 */
export default async function globalSetup(): Promise<void> {
  if (globalThis.mailServiceTestRun) {
    globalThis.mailServiceTestRun.users += 1;
    return;
  }
  const names = newRunNames();
  await dropStaleDatabases();
  await createDatabase(names.databaseName);

  const ownerUrl = databaseUrlFor(names.databaseName);
  const environment = {
    NODE_ENV: 'test',
    DATABASE_URL: appRoleUrl(ownerUrl),
    DATABASE_MIGRATION_URL: ownerUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: names.redisKeyPrefix,
    TEST_RUN_ID: names.runId,
    TEST_DATABASE_NAME: names.databaseName,
    MAIL_STACK_DIR: names.mailStackDir,
  };
  Object.assign(process.env, environment);

  const dataSource = new DataSource(dataSourceOptions(loadConfig(environment), 'email_service-test-setup', ownerUrl));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
  await provisionAppRole(ownerUrl, environment.DATABASE_URL);

  await startMailStack({ stateDir: names.mailStackDir, basePort: await findFreePortRange(MAIL_STACK_PORTS) });
  globalThis.mailServiceTestRun = { users: 1 };
}
