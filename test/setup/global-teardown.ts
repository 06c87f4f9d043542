import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Redis } from 'ioredis';
import pg from 'pg';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
// Global hooks cannot import each other (see global-setup.ts), hence the repeated default.
const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function dropDatabase(databaseName: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The last project to finish removes everything the run created: database, Redis keys, mail servers. */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis.mailServiceTestRun;
  if (!shared) return;
  shared.users -= 1;
  if (shared.users > 0) return;
  globalThis.mailServiceTestRun = undefined;
  shared.introspection?.close();

  const { TEST_DATABASE_NAME, TEST_CROSS_TENANT_DATABASE_NAME, REDIS_URL, REDIS_KEY_PREFIX, MAIL_STACK_DIR } =
    process.env;
  const results = await Promise.allSettled([
    TEST_DATABASE_NAME ? dropDatabase(TEST_DATABASE_NAME) : Promise.resolve(),
    TEST_CROSS_TENANT_DATABASE_NAME ? dropDatabase(TEST_CROSS_TENANT_DATABASE_NAME) : Promise.resolve(),
    REDIS_URL && REDIS_KEY_PREFIX ? deleteRedisKeys(REDIS_URL, REDIS_KEY_PREFIX) : Promise.resolve(),
    MAIL_STACK_DIR
      ? run('bash', [join(ROOT, 'test', 'infra', 'mail-stack.sh'), 'stop', MAIL_STACK_DIR], { cwd: ROOT })
      : Promise.resolve(),
  ]);
  if (MAIL_STACK_DIR) rmSync(MAIL_STACK_DIR, { recursive: true, force: true });
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) throw new AggregateError(failures, 'test teardown left something behind');
}
