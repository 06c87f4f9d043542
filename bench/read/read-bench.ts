/**
 * `npm run bench:read`: the read endpoints under load, each next to a bare Fastify + pg baseline
 * running the same SQL. Creates its own database (migrated like production), seeds 100,000
 * messages for the measured tenant and 100,000 for another, starts the built API as deployed (its
 * entry point, API_WORKERS processes) and the baseline with as many processes, runs autocannon,
 * prints latency, throughput and CPU per request, and drops the database.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (a superuser connection, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (per tenant),
 * BENCH_DURATION (seconds per run), BENCH_WARMUP (seconds of load before each run), BENCH_CONNECTIONS,
 * BENCH_API_WORKERS (API processes; the configuration default otherwise), BENCH_KEEP_DATABASE=1,
 * BENCH_DATABASE (a database kept by an earlier run, reused as seeded), BENCH_EXPLAIN=1 (print each
 * captured statement with its plan), BENCH_CPU_PROFILE_DIR (a directory: every API process writes a
 * V8 CPU profile to its `api` subdirectory when it stops, every baseline process to `baseline`, for
 * Chrome DevTools or other `.cpuprofile` tooling; the same code paths side by side).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { loadConfig } from '@app/config';
import { migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { JobProducer } from '@app/queue';
import { TenantStatement } from '@app/tenancy';
import { JwtService } from '@nestjs/jwt';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { createApiApp } from '../../apps/api/src/api-app.factory.js';
import type { CapturedQuery } from './baseline-server.js';
import { seededMailbox, seedMailbox } from './seed.js';
import { ServerProcess } from './server-process.js';

interface Histogram {
  p50: number;
  p99: number;
  average: number;
}
interface AutocannonResult {
  latency: Histogram;
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<AutocannonResult>;
type Measured = AutocannonResult & { cpuMsPerRequest: number };

// autocannon ships no types; this is the slice of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const env = process.env;
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 100_000);
const DURATION = Number(env.BENCH_DURATION ?? 10);
// Each process of a cluster compiles its hot paths separately; a short warm-up measures the JIT.
const WARMUP = Number(env.BENCH_WARMUP ?? 5);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const POOL_SIZE = 10;
const PAGE = 50;
const APP_ROLE = 'mail_bench_read_app';
const TENANT = 'bench-reader';
const NOISE_TENANT = 'bench-noise';

const SEARCH_QUERY = 'invoice from:sender7@example7.com';
const API_ENTRY = join(import.meta.dirname, '..', '..', 'apps', 'api', 'src', 'main.js');
const BASELINE_ENTRY = join(import.meta.dirname, 'baseline-main.js');
const EXIT_ON_SIGTERM = join(import.meta.dirname, 'exit-on-sigterm.js');

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
    if (captured && typeof sql === 'string')
      captured.push({ sql, values: Array.isArray(values) ? values : [], asTenant: false });
    if (captured && sql instanceof TenantStatement)
      captured.push({ sql: sql.text, values: sql.values ?? [], asTenant: true });
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

/** Cluster workers start after the primary: waits until all `count` processes are there. */
async function waitForProcesses(server: ServerProcess, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (server.processCount < count) {
    if (Date.now() > deadline) throw new Error(`only ${server.processCount} of ${count} processes started`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const reused = env.BENCH_DATABASE;
  const databaseName = reused ?? `mail_bench_read_${randomBytes(4).toString('hex')}`;
  const ownerUrl = databaseUrl(databaseName);
  const appUrl = databaseUrl(databaseName, APP_ROLE);
  // The API runs as deployed: its entry point, with the configuration defaults (API_WORKERS
  // processes) unless BENCH_API_WORKERS says otherwise; the baseline gets as many processes.
  const apiEnv: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: appUrl,
    DATABASE_MIGRATION_URL: ownerUrl,
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    REDIS_URL,
    REDIS_KEY_PREFIX: databaseName,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'ERROR',
    ...(env.BENCH_API_WORKERS ? { API_WORKERS: env.BENCH_API_WORKERS } : {}),
  };
  const config = loadConfig(apiEnv);
  const workers = config.http.workers;

  if (!reused) await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`));
  log(`database ${databaseName}${reused ? ' (reused: pending migrations only, no seeding)' : ''}`);
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
      if (reused) return seededMailbox(client, TENANT);
      const seeded = await seedMailbox(client, TENANT, MESSAGES, 0.42);
      await seedMailbox(client, NOISE_TENANT, MESSAGES, 0.24);
      await client.query('VACUUM ANALYZE');
      log(
        `seeded ${MESSAGES} messages for ${TENANT} and ${MESSAGES} for ${NOISE_TENANT} in ${Date.now() - started} ms`,
      );
      return seeded;
    }, ownerUrl);

    // The statements are captured from an API in this process, then the measured one runs apart.
    const token = new JwtService({ secret: config.auth.jwtSecret ?? '' }).sign(
      { sub: 'bench', tenant: TENANT },
      { expiresIn: '1h' },
    );
    const headers = { authorization: `Bearer ${token}` };
    const paths = {
      list: `/api/messages?${new URLSearchParams({ accountId: mailbox.accountId, folder: 'INBOX', limit: String(PAGE) }).toString()}`,
      search: `/api/sync/search?${new URLSearchParams({ accountId: mailbox.accountId, query: SEARCH_QUERY, limit: String(PAGE) }).toString()}`,
    };
    const routes: Record<string, CapturedQuery> = {};
    const expectedIds: Record<string, string> = {};
    // The statements are captured from an API in this process; the measured one runs apart.
    const capture = captureStatements();
    const app = await createApiApp(config);
    // Closed last, after the measured processes stopped: its queues are theirs too (same names and
    // key prefix), and their Redis keys go with the database.
    cleanups.push(async () => {
      await Promise.all(
        app
          .get(JobProducer)
          .allQueues()
          .map((queue) => queue.obliterate({ force: true })),
      );
      await app.close();
    });
    await app.listen(0, '127.0.0.1');
    const apiUrl = await app.getUrl();
    for (const [name, path] of Object.entries(paths)) {
      capture.start();
      const response = await fetch(`${apiUrl}${path}`, { headers });
      const statements = capture.stop();
      const body = (await response.json()) as { items?: { id: string }[] };
      if (response.status !== 200 || !body.items)
        throw new Error(`${name}: API answered ${response.status} ${JSON.stringify(body)}`);
      const select = statements.find(
        (statement) => /^\s*SELECT\b/i.test(statement.sql) && !statement.sql.includes('set_config'),
      );
      if (!select) throw new Error(`${name}: no SELECT captured`);
      routes[`/${name}`] = select;
      expectedIds[name] = body.items.map((item) => item.id).join(',');
      const described = statements.map(
        (statement) => `${statement.asTenant ? 'set_config+' : ''}${statement.sql.trim().split(/\s+/)[0] ?? ''}`,
      );
      log(
        `${name}: ${body.items.length} items; ${statements.length} round trips per request (${described.join(', ')})`,
      );
    }

    if (env.BENCH_EXPLAIN === '1') {
      await admin(async (client) => {
        for (const [route, query] of Object.entries(routes)) {
          await client.query('BEGIN');
          await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [TENANT]);
          const plan = await client.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`,
            query.values,
          );
          await client.query('ROLLBACK');
          log(
            `\n${route}: ${query.sql}\n${JSON.stringify(query.values)}\n${plan.rows.map((row) => row['QUERY PLAN']).join('\n')}`,
          );
        }
      }, appUrl);
    }

    // Node writes a --cpu-prof profile only when a process exits normally, not when a signal ends
    // it (as Nest's shutdown hook does), hence the preload. Cluster workers inherit both flags.
    const profileDir = env.BENCH_CPU_PROFILE_DIR;
    const profiling = (server: string): string[] =>
      profileDir
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${join(profileDir, server)}`,
            `--import=${pathToFileURL(EXIT_ON_SIGTERM).href}`,
          ]
        : [];
    const api = await ServerProcess.start(API_ENTRY, apiEnv, '/health', profiling('api'));
    cleanups.push(() => api.stop());
    const baseline = await ServerProcess.start(
      BASELINE_ENTRY,
      {
        BASELINE_WORKERS: String(workers),
        DATABASE_URL: appUrl,
        POOL_SIZE: String(POOL_SIZE),
        TENANT_ID: TENANT,
        BASELINE_ROUTES: JSON.stringify(routes),
        PAGE_LIMIT: String(PAGE),
      },
      '/list',
      profiling('baseline'),
    );
    cleanups.push(() => baseline.stop());
    for (const server of [api, baseline]) await waitForProcesses(server, workers > 1 ? workers + 1 : 1);
    for (const name of Object.keys(paths)) {
      const response = await fetch(`${baseline.url}/${name}`);
      const body = (await response.json()) as { items: { id: string }[] };
      if (body.items.map((item) => item.id).join(',') !== expectedIds[name])
        throw new Error(`${name}: baseline and API disagree`);
    }

    const run = async (
      server: ServerProcess,
      path: string,
      withHeaders: Record<string, string> = {},
      connections = CONNECTIONS,
    ): Promise<Measured> => {
      const url = `${server.url}${path}`;
      await autocannon({ url, connections, duration: WARMUP, headers: withHeaders });
      const cpuBefore = server.cpuSeconds();
      const result = await autocannon({ url, connections, duration: DURATION, headers: withHeaders });
      const cpuMsPerRequest = ((server.cpuSeconds() - cpuBefore) * 1000) / Math.max(1, result.requests.total);
      if (result.non2xx || result.errors || result.timeouts) {
        throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
      }
      return { ...result, cpuMsPerRequest };
    };
    const figures = (result: Measured): string =>
      `${result.latency.p50.toFixed(1).padStart(7)} ${result.latency.p99.toFixed(1).padStart(7)} ${result.requests.average.toFixed(0).padStart(6)} ${result.cpuMsPerRequest.toFixed(2).padStart(7)}`;
    const header = `${'endpoint'.padEnd(12)}  API: p50 ms  p99 ms  req/s  CPU ms/req   baseline: p50 ms  p99 ms  req/s  CPU ms/req   req/s ratio`;
    const line = (name: string, measured: { api: Measured; base: Measured }): string =>
      `${name.padEnd(12)}  ${figures(measured.api)}         ${figures(measured.base)}       ${(measured.api.requests.average / measured.base.requests.average).toFixed(2).padStart(6)}`;

    const [load1, load5] = loadavg();
    log(
      `\nautocannon: ${CONNECTIONS} connections, ${DURATION} s per run after ${WARMUP} s warm-up; load average ${load1?.toFixed(2)} / ${load5?.toFixed(2)} (1 / 5 min) on ${availableParallelism()} cores` +
        `\nAPI as deployed: ${workers} process${workers > 1 ? 'es (API_WORKERS, node cluster)' : ''}, pool ${POOL_SIZE} each; baseline: the same number of processes and pools` +
        `\nCPU ms/req: user + system CPU of all server processes per request (load-independent, unlike latency)\n`,
    );
    log(header);
    const results: Record<string, { api: Measured; base: Measured }> = {};
    for (const [name, path] of Object.entries(paths)) {
      results[name] = { api: await run(api, path, headers), base: await run(baseline, `/${name}`) };
      log(line(name, results[name]));
    }

    // One connection: the latency of a request with no queue in front of it, the part the code controls.
    log(`\nsame, 1 connection (no queueing):`);
    for (const [name, path] of Object.entries(paths)) {
      log(line(`${name} x1`, { api: await run(api, path, headers, 1), base: await run(baseline, `/${name}`, {}, 1) }));
    }
    const [after1] = loadavg();
    log(`load average at the end: ${after1?.toFixed(2)}`);

    const search = results.search?.api;
    const list = results.list;
    const verdicts = [
      ['search p50 < 20 ms', search !== undefined && search.latency.p50 < 20],
      ['search p99 < 100 ms', search !== undefined && search.latency.p99 < 100],
      [
        'list >= 0.5 x baseline req/s',
        list !== undefined && list.api.requests.average >= 0.5 * list.base.requests.average,
      ],
    ] as const;
    log('');
    for (const [target, met] of verdicts) log(`${met ? 'met    ' : 'MISSED '} ${target}`);
    process.exitCode = verdicts.every(([, met]) => met) ? 0 : 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (reused || env.BENCH_KEEP_DATABASE === '1') log(`kept database ${databaseName}`);
    else
      await admin((client) =>
        client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(databaseName)} WITH (FORCE)`),
      );
  }
}

await main();
