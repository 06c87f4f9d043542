import { execFile } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

import pg from 'pg';

/*
 * Jest loads global setup with Node's own resolver, outside its module mapping: this file may
 * import only node built-ins and packages, so it drives the project through the same commands
 * a deployment uses (the built migrate step, the mail-stack script).
 */

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const DATABASE_PREFIX = 'mail_test_';
/** Databases of runs older than this are leftovers of killed runs. */
const STALE_AFTER_MS = 6 * 3600 * 1000;
/** The apps under test connect as this role, so row-level security applies to them as in production. */
const TEST_APP_ROLE = 'email_service_test_app';
/** Consecutive ports the mail stack takes above its base port (test/infra/README.md). */
const MAIL_STACK_PORTS = 8;

interface SharedRun {
  users: number;
  /** The mail stack's OAuth2 token introspection endpoint, served from this process. */
  introspection?: Server;
}

declare global {
  var mailServiceTestRun: SharedRun | undefined;
}

function databaseUrl(databaseName: string, role?: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${databaseName}`;
  if (role) {
    url.username = role;
    url.password = role;
  }
  return url.toString();
}

/** Run ids start with a base-36 timestamp, so a leftover database tells its own age. */
async function dropStaleDatabases(): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${DATABASE_PREFIX}%`,
    ]);
    for (const { datname } of rows) {
      const startedAt = parseInt(datname.slice(DATABASE_PREFIX.length, DATABASE_PREFIX.length + 8), 36);
      if (Date.now() - startedAt > STALE_AFTER_MS)
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Random bases make concurrent runs on one machine unlikely to race for the same ports. */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 2_000) * 10;
    const free = await Promise.all(Array.from({ length: count }, (_, offset) => portIsFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no range of ${count} free ports found`);
}

/** An access token of test/support/oauth-server.ts: `mst1.<payload>.<HMAC>`, the payload `{sub, exp}` (ms). */
function introspect(token: string, signingKey: string): { active: true; username: string } | { active: false } {
  const [format, payload, signature] = token.split('.');
  if (format !== 'mst1' || !payload || !signature) return { active: false };
  const expected = createHmac('sha256', signingKey).update(payload).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { active: false };
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string; exp: number };
  return claims.exp > Date.now() ? { active: true, username: claims.sub } : { active: false };
}

/**
 * RFC 7662 introspection for the mail stack's Dovecot oauth2 passdb. It lives in this process,
 * which outlasts every test file of the run, and needs no port of the stack's range: test files
 * run their own authorisation servers, which sign tokens with the run's key, and this only
 * checks signature and expiry.
 */
async function startIntrospection(signingKey: string): Promise<Server> {
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(introspect(token, signingKey)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return server;
}

/**
 * One environment per `jest` run, shared by the integration and e2e projects: a fresh database
 * migrated by the real migrate step, a Redis key prefix and a private Dovecot + Postfix. Test
 * workers inherit it through the environment variables set here.
 *
 * Crons act on every tenant at once, so their tests get a second database: in the shared one a
 * cron under test would also mark and enqueue the accounts of test files running beside it.
 */
export default async function globalSetup(): Promise<void> {
  if (globalThis.mailServiceTestRun) {
    globalThis.mailServiceTestRun.users += 1;
    return;
  }
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const databaseName = `${DATABASE_PREFIX}${runId}`;
  const crossTenantDatabaseName = `${databaseName}_cross_tenant`;
  const mailStackDir = join(tmpdir(), `mail-stack-${runId}`);
  const oauthSigningKey = randomBytes(32).toString('hex');
  const environment = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(databaseName, TEST_APP_ROLE),
    DATABASE_MIGRATION_URL: databaseUrl(databaseName),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `test-${runId}`,
    TEST_RUN_ID: runId,
    TEST_DATABASE_NAME: databaseName,
    TEST_CROSS_TENANT_DATABASE_NAME: crossTenantDatabaseName,
    TEST_CROSS_TENANT_DATABASE_URL: databaseUrl(crossTenantDatabaseName, TEST_APP_ROLE),
    TEST_CROSS_TENANT_DATABASE_MIGRATION_URL: databaseUrl(crossTenantDatabaseName),
    MAIL_STACK_DIR: mailStackDir,
    // The outbound policy stays on as in production; the test mail servers, proxies and scripted
    // servers all listen on high loopback ports, which only this allowlist entry admits.
    OUTBOUND_POLICY: 'public',
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1:1024-65535',
    // Watchers claim every tenant's accounts in their database and push syncs of them into their
    // worker's queues: only test files with a database of their own turn them on.
    WATCH_ENABLED: 'false',
    TEST_OAUTH_SIGNING_KEY: oauthSigningKey,
  };
  Object.assign(process.env, environment);
  // Registered before anything is created, so a failure below still gets cleaned up.
  globalThis.mailServiceTestRun = { users: 1 };
  const introspection = await startIntrospection(oauthSigningKey);
  globalThis.mailServiceTestRun.introspection = introspection;
  const introspectionPort = (introspection.address() as { port: number }).port;

  await dropStaleDatabases();
  const migrate = async (databaseUrls: { DATABASE_URL: string; DATABASE_MIGRATION_URL: string }): Promise<unknown> =>
    run(process.execPath, [join(ROOT, 'dist', 'libs', 'database', 'src', 'cli', 'migrate.js')], {
      cwd: ROOT,
      env: { ...process.env, ...databaseUrls },
    });
  await migrate(environment);
  await Promise.all([
    migrate({
      DATABASE_URL: environment.TEST_CROSS_TENANT_DATABASE_URL,
      DATABASE_MIGRATION_URL: environment.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL,
    }),
    run(
      'bash',
      [
        join(ROOT, 'test', 'infra', 'mail-stack.sh'),
        'start',
        mailStackDir,
        String(await freePortRange(MAIL_STACK_PORTS)),
      ],
      {
        cwd: ROOT,
        timeout: 180_000,
        env: { ...process.env, OAUTH_INTROSPECTION_URL: `http://127.0.0.1:${introspectionPort}/introspect` },
      },
    ),
  ]);
}
