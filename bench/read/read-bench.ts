/**
 * `npm run bench:read`: the read endpoints under load, each next to a bare Fastify + pg baseline
 * running the same SQL. Creates its own database (migrated like production), seeds 100,000
 * messages for the measured tenant and 100,000 for another, boots the real API on a free port,
 * runs autocannon, prints latency and throughput, and drops the database.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (a superuser connection, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (per tenant),
 * BENCH_DURATION (seconds per run), BENCH_CONNECTIONS, BENCH_KEEP_DATABASE=1, BENCH_EXPLAIN=1 (print each
 * captured statement with its plan).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

import { loadConfig } from '@app/config';
import { migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { JwtService } from '@nestjs/jwt';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { createApiApp } from '../../apps/api/src/api-app.factory.js';
import { startBaseline } from './baseline-server.js';
import type { CapturedQuery } from './baseline-server.js';
import { seedMailbox } from './seed.js';

interface Histogram {
  p50: number;
  p99: number;
  average: number;
}
interface AutocannonResult {
  latency: Histogram;
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  workers?: number;
}) => Promise<AutocannonResult>;

// autocannon ships no types; this is the slice of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const env = process.env;
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 100_000);
const DURATION = Number(env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const POOL_SIZE = 10;
const PAGE = 50;
const APP_ROLE = 'mail_bench_read_app';
const TENANT = 'bench-reader';
const NOISE_TENANT = 'bench-noise';

const SEARCH_QUERY = 'invoice from:sender7@example7.com';

function databaseUrl(name: string, role?: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  if (role) {
    url.username = role;
    url.password = role;
  }
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * Records the statements the API sends to PostgreSQL while `capturing` is set, so the baseline
 * can run exactly the same SQL with the same parameters.
 */
function captureStatements(): { start: () => void; stop: () => CapturedQuery[] } {
  let captured: CapturedQuery[] | null = null;
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const [sql, values] = args;
    if (captured && typeof sql === 'string') captured.push({ sql, values: Array.isArray(values) ? values : [] });
    return original.apply(this, args);
  };
  return {
    start: () => {
      captured = [];
    },
    stop: () => {
      const result = captured ?? [];
      captured = null;
      return result;
    },
  };
}

async function main(): Promise<void> {
  const databaseName = `mail_bench_read_${randomBytes(4).toString('hex')}`;
  const ownerUrl = databaseUrl(databaseName);
  const appUrl = databaseUrl(databaseName, APP_ROLE);
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: appUrl,
    DATABASE_MIGRATION_URL: ownerUrl,
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    REDIS_URL,
    REDIS_KEY_PREFIX: databaseName,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    API_WORKERS: '1',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'ERROR',
  });

  await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`));
  log(`database ${databaseName}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    let started = Date.now();
    const migrator = new DataSource(migrationDataSourceOptions(config, 'email_service-bench-migrate', ownerUrl));
    await migrator.initialize();
    await migrator.runMigrations({ transaction: 'each' });
    await migrator.destroy();
    await provisionAppRole(ownerUrl, appUrl);
    log(`migrated in ${Date.now() - started} ms`);

    started = Date.now();
    const mailbox = await admin(async (client) => {
      const seeded = await seedMailbox(client, TENANT, MESSAGES, 0.42);
      await seedMailbox(client, NOISE_TENANT, MESSAGES, 0.24);
      await client.query('VACUUM ANALYZE');
      return seeded;
    }, ownerUrl);
    log(`seeded ${MESSAGES} messages for ${TENANT} and ${MESSAGES} for ${NOISE_TENANT} in ${Date.now() - started} ms`);

    const capture = captureStatements();
    const app = await createApiApp(config);
    cleanups.push(() => app.close());
    await app.listen(0, '127.0.0.1');
    const apiUrl = await app.getUrl();
    const token = new JwtService({ secret: config.auth.jwtSecret ?? '' }).sign({ sub: 'bench', tenant: TENANT }, { expiresIn: '1h' });
    const headers = { authorization: `Bearer ${token}` };

    const paths = {
      list: `/api/messages?${new URLSearchParams({ accountId: mailbox.accountId, folder: 'INBOX', limit: String(PAGE) }).toString()}`,
      search: `/api/sync/search?${new URLSearchParams({ accountId: mailbox.accountId, query: SEARCH_QUERY, limit: String(PAGE) }).toString()}`,
    };
    const routes: Record<string, CapturedQuery> = {};
    const expectedIds: Record<string, string> = {};
    for (const [name, path] of Object.entries(paths)) {
      capture.start();
      const response = await fetch(`${apiUrl}${path}`, { headers });
      const statements = capture.stop();
      const body = (await response.json()) as { items?: { id: string }[] };
      if (response.status !== 200 || !body.items) throw new Error(`${name}: API answered ${response.status} ${JSON.stringify(body)}`);
      const select = statements.find((statement) => /^\s*SELECT\b/i.test(statement.sql) && !statement.sql.includes('set_config'));
      if (!select) throw new Error(`${name}: no SELECT captured`);
      routes[`/${name}`] = select;
      expectedIds[name] = body.items.map((item) => item.id).join(',');
      log(`${name}: ${body.items.length} items; ${statements.length} statements per request (${statements.map((s) => s.sql.trim().split(/\s+/)[0]).join(', ')})`);
    }

    if (env.BENCH_EXPLAIN === '1') {
      await admin(async (client) => {
        for (const [route, query] of Object.entries(routes)) {
          await client.query('BEGIN');
          await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [TENANT]);
          const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, query.values);
          await client.query('ROLLBACK');
          log(`\n${route}: ${query.sql}\n${JSON.stringify(query.values)}\n${plan.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
        }
      }, appUrl);
    }

    const baseline = await startBaseline(appUrl, POOL_SIZE, TENANT, routes, PAGE);
    cleanups.push(() => baseline.server.close(), () => baseline.pool.end());
    for (const name of Object.keys(paths)) {
      const response = await fetch(`${baseline.url}/${name}`);
      const body = (await response.json()) as { items: { id: string }[] };
      if (body.items.map((item) => item.id).join(',') !== expectedIds[name]) throw new Error(`${name}: baseline and API disagree`);
    }

    const run = async (url: string, withHeaders: Record<string, string> = {}, connections = CONNECTIONS): Promise<AutocannonResult> => {
      await autocannon({ url, connections, duration: 2, headers: withHeaders, workers: 1 });
      const result = await autocannon({ url, connections, duration: DURATION, headers: withHeaders, workers: 1 });
      if (result.non2xx || result.errors || result.timeouts) {
        throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
      }
      return result;
    };

    log(`\nautocannon: ${CONNECTIONS} connections, ${DURATION} s per run after 2 s warm-up; pool ${POOL_SIZE}; one API process\n`);
    log('endpoint                 p50 ms   p99 ms    req/s   baseline p50/p99/req/s    ratio (req/s)');
    const results: Record<string, { api: AutocannonResult; base: AutocannonResult }> = {};
    for (const [name, path] of Object.entries(paths)) {
      const api = await run(`${apiUrl}${path}`, headers);
      const base = await run(`${baseline.url}/${name}`);
      results[name] = { api, base };
      log(
        `${name.padEnd(22)} ${api.latency.p50.toFixed(1).padStart(8)} ${api.latency.p99.toFixed(1).padStart(8)} ${api.requests.average.toFixed(0).padStart(8)}` +
          `   ${`${base.latency.p50.toFixed(1)} / ${base.latency.p99.toFixed(1)} / ${base.requests.average.toFixed(0)}`.padEnd(24)}` +
          `${(api.requests.average / base.requests.average).toFixed(2).padStart(8)}`,
      );
    }

    // One connection: the latency of a request with no queue in front of it, the part the code controls.
    log(`\nsame, 1 connection (no queueing):`);
    for (const [name, path] of Object.entries(paths)) {
      const api = await run(`${apiUrl}${path}`, headers, 1);
      const base = await run(`${baseline.url}/${name}`, {}, 1);
      log(
        `${`${name} x1`.padEnd(22)} ${api.latency.p50.toFixed(1).padStart(8)} ${api.latency.p99.toFixed(1).padStart(8)} ${api.requests.average.toFixed(0).padStart(8)}` +
          `   ${`${base.latency.p50.toFixed(1)} / ${base.latency.p99.toFixed(1)} / ${base.requests.average.toFixed(0)}`.padEnd(24)}` +
          `${(api.requests.average / base.requests.average).toFixed(2).padStart(8)}`,
      );
    }

    const search = results.search?.api;
    const list = results.list;
    const verdicts = [
      ['search p50 < 20 ms', search !== undefined && search.latency.p50 < 20],
      ['search p99 < 100 ms', search !== undefined && search.latency.p99 < 100],
      ['list >= 0.5 x baseline req/s', list !== undefined && list.api.requests.average >= 0.5 * list.base.requests.average],
    ] as const;
    log('');
    for (const [target, met] of verdicts) log(`${met ? 'met    ' : 'MISSED '} ${target}`);
    process.exitCode = verdicts.every(([, met]) => met) ? 0 : 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (env.BENCH_KEEP_DATABASE === '1') log(`kept database ${databaseName}`);
    else await admin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(databaseName)} WITH (FORCE)`));
  }
}

await main();
