import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Names of everything one test run owns. Derived from a run id so that parallel runs on one
 * machine (or a run killed half way) never collide with another run.
 */
export interface TestRunNames {
  runId: string;
  databaseName: string;
  redisKeyPrefix: string;
  mailStackDir: string;
}

export const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Databases of runs older than this are treated as leftovers of killed runs and dropped. */
const STALE_AFTER_MS = 6 * 3600 * 1000;
const DATABASE_PREFIX = 'mail_test_';

export function newRunNames(): TestRunNames {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return {
    runId,
    databaseName: `${DATABASE_PREFIX}${runId}`,
    redisKeyPrefix: `test-${runId}`,
    mailStackDir: join(tmpdir(), `mail-stack-${runId}`),
  };
}

export function databaseUrlFor(databaseName: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(databaseName: string): Promise<void> {
  await withAdminClient(async (client) => {
    await client.query(`CREATE DATABASE "${databaseName}"`);
  });
}

export async function dropDatabase(databaseName: string): Promise<void> {
  await withAdminClient(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  });
}

/** Run ids start with a base-36 timestamp, so a leftover database tells its own age. */
export async function dropStaleDatabases(): Promise<string[]> {
  return withAdminClient(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${DATABASE_PREFIX}%`],
    );
    const stale = rows
      .map((row) => row.datname)
      .filter((name) => Date.now() - parseInt(name.slice(DATABASE_PREFIX.length, DATABASE_PREFIX.length + 8), 36) > STALE_AFTER_MS);
    for (const name of stale) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    return stale;
  });
}

export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free ports above it, picked at random so concurrent runs rarely race. */
export async function findFreePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 2_000) * 10;
    const ports = Array.from({ length: count }, (_, offset) => base + offset);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no range of ${count} free ports found`);
}
