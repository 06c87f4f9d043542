/**
 * `npm run bench:send`: 1,000 sends through the real path into a local SMTP sink, next to plain
 * nodemailer pushing the same messages through a pool of the same size, measured alternately in
 * rounds. Deployed topology: the API's part (api-process.ts: validation, SendsService.sendMessage
 * with an Idempotency-Key, record in PostgreSQL, job in BullMQ) and the worker's part
 * (worker-process.ts: the worker module with its send processor, state machine and pooled SMTP
 * transports) run in processes of their own, the sink in a third (sink-process.ts), the baseline
 * in this one. Checks at the sink that every Message-ID arrived exactly once, and in PostgreSQL
 * that every record is sent after one attempt. Creates its own database and drops it afterwards.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (superuser, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (default 1000),
 * BENCH_POOL_SIZE (SMTP_POOL_SIZE for both sides, default 5), BENCH_SEND_CONCURRENCY (worker
 * SEND_CONCURRENCY, default 20), BENCH_API_CONCURRENCY (requests in flight at the API, default
 * 50), BENCH_ACCOUNTS (accounts the queue side sends from, default 1), BENCH_ROUNDS (default 5),
 * BENCH_CPU_PROFILE_DIR (the API and worker processes write V8 CPU profiles there).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { loadavg } from 'node:os';

import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule, migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { JobName, JobProducer, QueueModule } from '@app/queue';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createTransport } from 'nodemailer';
import pg from 'pg';
import { DataSource } from 'typeorm';

import type { ApiReply, ApiRequest } from './api-process.js';
import { cpuSecondsOf, CpuMeter, localRedisPid } from '../support/cpu-meter.js';
import { cpuMsSince, epochMs } from './clock.js';
import { messageBody } from './message-body.js';
import type { SinkReply, SinkRequest } from './sink-process.js';
import type { WorkerReply, WorkerRequest } from './worker-process.js';

const env = process.env;
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 1000);
const POOL_SIZE = Number(env.BENCH_POOL_SIZE ?? 5);
const SEND_CONCURRENCY = Number(env.BENCH_SEND_CONCURRENCY ?? 20);
const API_CONCURRENCY = Number(env.BENCH_API_CONCURRENCY ?? 50);
const ACCOUNTS = Number(env.BENCH_ACCOUNTS ?? 1);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
const CPU_PROFILE_DIR = env.BENCH_CPU_PROFILE_DIR;
/**
 * Sent on each side before the rounds. V8 is still compiling the hot paths of both sides well past
 * the first few hundred messages: after 200, the first round ran 25-30% below the later ones.
 */
const WARM_UP_MESSAGES = MESSAGES;
const APP_ROLE = 'mail_bench_send_app';
const TENANT = 'bench-sender';
const SINK_HOST = '127.0.0.1';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

function databaseUrl(name: string, role?: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  if (role) {
    url.username = role;
    url.password = role;
  }
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

interface Waiter<Reply> {
  type: string;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/** A forked part of the benchmark, spoken to over IPC; a `failed` reply or an exit fails whatever waits on it. */
class Part<Request extends { type: string }, Reply extends { type: string }> {
  private readonly early: Reply[] = [];
  private readonly waiters: Waiter<Reply>[] = [];
  private failure: Error | null = null;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: Reply | { type: 'failed'; reason: string }) => {
      if ('reason' in reply) return this.fail(new Error(`${name}: ${reply.reason}`));
      const waiter = this.waiters.findIndex((candidate) => candidate.type === reply.type);
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]?.resolve(reply);
      else this.early.push(reply);
    });
    child.on('exit', (code) => this.fail(new Error(`${name} exited with ${code}`)));
  }

  static async start<Request extends { type: string }, Reply extends { type: string }>(
    name: string,
    script: string,
    childEnv: Record<string, string>,
  ): Promise<Part<Request, Reply>> {
    const execArgv = CPU_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
    const child = fork(new URL(script, import.meta.url), {
      env: { PATH: env.PATH ?? '', ...childEnv },
      execArgv,
      stdio: 'inherit',
    });
    const part = new Part<Request, Reply>(name, child);
    await part.next('ready');
    return part;
  }

  send(request: Request): void {
    this.child.send(request);
  }

  /** The next reply of this type, also one that arrived before the call. */
  next<T extends Reply['type']>(type: T): Promise<Extract<Reply, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    const arrived = this.early.findIndex((reply) => reply.type === type);
    if (arrived >= 0) return Promise.resolve(this.early.splice(arrived, 1)[0] as Extract<Reply, { type: T }>);
    return new Promise((resolve, reject) => {
      this.waiters.push({ type, resolve: resolve as (reply: Reply) => void, reject });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' });
    await exited;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

/** The sink process: its port, and how often each Message-ID reached it so far. */
class Sink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(): Promise<Sink> {
    const child = fork(new URL('./sink-process.js', import.meta.url), { stdio: 'inherit' });
    const [reply] = (await once(child, 'message')) as [SinkReply];
    if (reply.type !== 'listening') throw new Error('the sink did not start');
    return new Sink(child, reply.port);
  }

  async countsByMessageId(): Promise<Map<string, number>> {
    const answer = once(this.child, 'message');
    this.child.send({ type: 'counts' } satisfies SinkRequest);
    const [reply] = (await answer) as [SinkReply];
    return reply.type === 'counts' ? new Map(reply.counts) : new Map();
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' } satisfies SinkRequest);
    await exited;
  }
}

async function verifyAtSink(sink: Sink, expected: readonly string[], label: string): Promise<void> {
  const counts = await sink.countsByMessageId();
  const lost = expected.filter((id) => !counts.has(id));
  const doubled = expected.filter((id) => (counts.get(id) ?? 0) > 1);
  if (lost.length > 0 || doubled.length > 0)
    throw new Error(`${label}: ${lost.length} lost, ${doubled.length} doubled at the sink`);
}

/** The orchestrating process's own small context: accounts for each round, the send queue. */
@Module({})
class OrchestratorModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: OrchestratorModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-bench-send'),
        TenancyModule,
        CryptoModule,
        QueueModule,
      ],
    };
  }
}

interface Bench {
  app: INestApplicationContext;
  config: AppConfig;
  sink: Sink;
  api: Part<ApiRequest, ApiReply>;
  worker: Part<WorkerRequest, WorkerReply>;
  services: ServiceTarget;
}

interface ServiceTarget {
  databaseName: string;
  /** Null when Redis does not run on this machine. */
  redisPid: number | null;
  sinkPid: number | undefined;
}

/** CPU milliseconds of the services beside the Node processes over one measured stretch. */
interface ServiceCpuMs {
  /** The backends serving the bench database. */
  postgres: number;
  redis: number | null;
  sink: number;
}

/**
 * Starts counting the CPU time of PostgreSQL, Redis and the sink; the returned function reads
 * what they used since. Both sides of the comparison use the sink; only the queue path uses the
 * other two, so without them its cost per message would look smaller than it is.
 */
function countServiceCpu(target: ServiceTarget): () => ServiceCpuMs {
  const postgres = new CpuMeter(target.databaseName);
  const seconds = (pid: number | null | undefined): number | null => (pid ? cpuSecondsOf(`/proc/${pid}/stat`) : null);
  const redisStart = seconds(target.redisPid);
  const sinkStart = seconds(target.sinkPid) ?? 0;
  return () => {
    const redisEnd = seconds(target.redisPid);
    return {
      postgres: postgres.read().postgres * 1000,
      redis: redisStart !== null && redisEnd !== null ? (redisEnd - redisStart) * 1000 : null,
      sink: ((seconds(target.sinkPid) ?? sinkStart) - sinkStart) * 1000,
    };
  };
}

interface BaselineRun {
  rate: number;
  /** CPU milliseconds per message of this process, which builds and submits everything. */
  cpuMsPerMessage: number;
  sinkCpuMsPerMessage: number;
}

async function baseline(sink: Sink, services: ServiceTarget, count: number): Promise<BaselineRun> {
  const transport = createTransport({
    host: SINK_HOST,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: POOL_SIZE,
    maxMessages: Infinity,
  });
  const ids = Array.from({ length: count }, () => `<${randomUUID()}@bench.example>`);
  // Before the clock: it lists /proc, which is no part of the baseline's work.
  const serviceCpu = countServiceCpu(services);
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    ids.map((messageId, index) =>
      transport.sendMail({
        from: 'Bench <bench@bench.example>',
        to: 'Sink <sink@sink.example>',
        messageId,
        date: new Date(),
        ...messageBody(index),
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerMessage = cpuMsSince(cpu) / count;
  const sinkCpuMsPerMessage = serviceCpu().sink / count;
  transport.close();
  await verifyAtSink(sink, ids, 'nodemailer pool');
  return { rate: count / seconds, cpuMsPerMessage, sinkCpuMsPerMessage };
}

async function createAccounts(bench: Bench, label: string): Promise<string[]> {
  const { app, sink } = bench;
  return app.get(TenantContext).run(TENANT, async () => {
    const cipher = app.get(CredentialCipher);
    const ids: string[] = [];
    for (let index = 0; index < ACCOUNTS; index += 1) {
      const email = `bench-${label}-${index}@bench.example`;
      const account = await app.get(AccountRepository).create({
        email,
        displayName: `Bench ${index}`,
        imapHost: SINK_HOST,
        imapPort: 1,
        imapSecurity: 'none',
        imapUsername: email,
        smtpHost: SINK_HOST,
        smtpPort: sink.port,
        smtpSecurity: 'none',
        smtpUsername: email,
        encryptedPassword: cipher.encrypt('bench'),
        allowSelfSignedCertificates: false,
      });
      ids.push(account.id);
    }
    return ids;
  });
}

interface QueueRun {
  /** Sends per second over the figure's clock. */
  rate: number;
  /** Records created and enqueued per second by the API's part alone. */
  apiRate: number;
  /** CPU milliseconds per message of the API process, the worker process and the services, from the first request to the last job. */
  apiCpuMs: number;
  workerCpuMs: number;
  services: ServiceCpuMs;
  waitedMs: number;
  processedMs: number;
}

/**
 * `end-to-end`: the clock starts when the API's part starts its first request and stops when the
 * worker's part has completed the last job (record marked sent, job acknowledged); both parts run
 * at once, as deployed. `drain`: the queue is paused while the API's part fills it, and the clock
 * measures only the worker taking the jobs from the queue to the server.
 */
async function throughQueue(
  bench: Bench,
  mode: 'end-to-end' | 'drain',
  label: string,
  count: number,
): Promise<QueueRun> {
  const { app, config, sink, api, worker, services } = bench;
  const accountIds = await createAccounts(bench, `${mode}-${label}`);
  const queue = app.get(JobProducer).queueFor(JobName.SendEmail);
  if (mode === 'drain') await queue.pause();
  worker.send({ type: 'await', count });
  await worker.next('awaiting');
  const drained = worker.next('drained');
  const serviceCpu = countServiceCpu(services);
  api.send({
    type: 'send',
    tenantId: TENANT,
    accountIds,
    count,
    concurrency: API_CONCURRENCY,
    keyPrefix: `bench-${mode}-${label}`,
  });
  const sent = await api.next('sent');
  let started = sent.startedAt;
  if (mode === 'drain') {
    started = epochMs();
    await queue.resume();
  }
  const { at, cpuMs: workerCpuMs } = await drained;
  const serviceCpuMs = serviceCpu();
  if (sent.replayed > 0) throw new Error(`${sent.replayed} requests were answered as replays`);
  await verifyAtSink(sink, sent.messageIds, `queue (${mode})`);

  const owner = new pg.Client({ connectionString: config.databaseMigrationUrl });
  await owner.connect();
  let recordIds: string[];
  try {
    const { rows } = await owner.query<{ id: string; state: string; attempts: number; filed: boolean }>(
      `SELECT id, state, attempts, sent_copy_appended_at IS NOT NULL AS filed FROM send_records WHERE account_id = ANY($1::uuid[])`,
      [accountIds],
    );
    const unfinished = rows.filter((row) => row.state !== 'sent' || row.attempts !== 1 || !row.filed);
    if (rows.length !== count || unfinished.length > 0)
      throw new Error(
        `queue (${mode}): ${rows.length} records, ${unfinished.length} not sent after exactly one attempt`,
      );
    recordIds = rows.map((row) => row.id);
  } finally {
    await owner.end();
  }
  const jobs = (await Promise.all(recordIds.map((id) => queue.getJob(`send-${id}`)))).filter(
    (job) => job !== undefined,
  );
  const average = (values: number[]): number =>
    values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  return {
    rate: count / ((at - started) / 1000),
    apiRate: count / ((sent.finishedAt - sent.startedAt) / 1000),
    apiCpuMs: sent.cpuMs / count,
    workerCpuMs: workerCpuMs / count,
    services: {
      postgres: serviceCpuMs.postgres / count,
      redis: serviceCpuMs.redis === null ? null : serviceCpuMs.redis / count,
      sink: serviceCpuMs.sink / count,
    },
    waitedMs: average(jobs.map((job) => (job.processedOn ?? 0) - job.timestamp)),
    processedMs: average(jobs.map((job) => (job.finishedOn ?? 0) - (job.processedOn ?? 0))),
  };
}

/** The CPU a message costs through the queue, every process counted, as `API a + worker w + … = total`. */
function queueCpuText(run: Pick<QueueRun, 'apiCpuMs' | 'workerCpuMs' | 'services'>): string {
  const parts: [string, number | null][] = [
    ['API', run.apiCpuMs],
    ['worker', run.workerCpuMs],
    ['PostgreSQL', run.services.postgres],
    ['Redis', run.services.redis],
    ['sink', run.services.sink],
  ];
  const counted = parts.filter((part): part is [string, number] => part[1] !== null);
  const total = counted.reduce((sum, [, ms]) => sum + ms, 0);
  return `${counted.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(' + ')} = ${total.toFixed(2)}${parts.length > counted.length ? ' (Redis not local)' : ''}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const databaseName = `mail_bench_send_${randomBytes(4).toString('hex')}`;
  const ownerUrl = databaseUrl(databaseName);
  const appUrl = databaseUrl(databaseName, APP_ROLE);
  const childEnv: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: appUrl,
    DATABASE_MIGRATION_URL: ownerUrl,
    DATABASE_POOL_SIZE: '10',
    REDIS_URL,
    REDIS_KEY_PREFIX: databaseName,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SMTP_POOL_SIZE: String(POOL_SIZE),
    SEND_CONCURRENCY: String(SEND_CONCURRENCY),
    SYNC_CONCURRENCY: '1',
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'error',
  };
  const config = loadConfig({ ...childEnv, DATABASE_POOL_SIZE: '2' });
  await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`));
  const sink = await Sink.start();
  // As deployed, the outbound policy is on; the operator's allowlist names the sink, a loopback server.
  childEnv.OUTBOUND_ALLOWED_HOSTS = `${SINK_HOST}:${sink.port}`;
  const started: { stop(): Promise<void> }[] = [];
  try {
    const migrator = new DataSource(migrationDataSourceOptions(config, 'email_service-bench-migrate', ownerUrl));
    await migrator.initialize();
    await migrator.runMigrations({ transaction: 'each' });
    await migrator.destroy();
    await provisionAppRole(ownerUrl, appUrl);

    const app = await NestFactory.createApplicationContext(OrchestratorModule.forRoot(config), { logger: ['error'] });
    started.push({
      // Stopped after the API and the worker, so no job is active when the queues' keys go.
      stop: async () => {
        await Promise.all(
          app
            .get(JobProducer)
            .allQueues()
            .map((queue) => queue.obliterate({ force: true })),
        );
        await app.close();
      },
    });
    const worker = await Part.start<WorkerRequest, WorkerReply>('worker', './worker-process.js', childEnv);
    started.push(worker);
    const api = await Part.start<ApiRequest, ApiReply>('api', './api-process.js', childEnv);
    started.push(api);
    const services: ServiceTarget = { databaseName, redisPid: await localRedisPid(REDIS_URL), sinkPid: sink.pid };
    const bench: Bench = { app, config, sink, api, worker, services };

    log(
      `${MESSAGES} messages, SMTP pool ${POOL_SIZE}, send concurrency ${SEND_CONCURRENCY}, API requests in flight ${API_CONCURRENCY}, ` +
        `${ACCOUNTS} account(s), ${ROUNDS} round(s), sink on port ${sink.port}`,
    );
    log(`load average before: ${load()}`);
    // The API and the worker are long-running processes; their first requests, compiling code and opening pools, are not what is measured.
    await baseline(sink, services, WARM_UP_MESSAGES);
    await throughQueue(bench, 'end-to-end', 'warm-up', WARM_UP_MESSAGES);

    // Each round measures the baseline right before the queue path, so both see the same machine;
    // the median of the rounds' ratios is the figure that counts on a machine shared with other work.
    const rounds: { plain: number; plainCpuMs: number; plainSinkCpuMs: number; endToEnd: QueueRun; drain: QueueRun }[] =
      [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const {
        rate: plain,
        cpuMsPerMessage: plainCpuMs,
        sinkCpuMsPerMessage: plainSinkCpuMs,
      } = await baseline(sink, services, MESSAGES);
      const endToEnd = await throughQueue(bench, 'end-to-end', String(round), MESSAGES);
      const drain = await throughQueue(bench, 'drain', String(round), MESSAGES);
      rounds.push({ plain, plainCpuMs, plainSinkCpuMs, endToEnd, drain });
      log(
        `round ${round}: nodemailer ${plain.toFixed(0)}/s | end-to-end ${endToEnd.rate.toFixed(0)}/s (ratio ${(endToEnd.rate / plain).toFixed(2)}; ` +
          `jobs waited ${endToEnd.waitedMs.toFixed(0)} ms, processed in ${endToEnd.processedMs.toFixed(1)} ms) | ` +
          `drain ${drain.rate.toFixed(0)}/s (ratio ${(drain.rate / plain).toFixed(2)}; processed in ${drain.processedMs.toFixed(1)} ms) | ` +
          `API part alone ${drain.apiRate.toFixed(0)}/s | CPU ms/message: nodemailer ${plainCpuMs.toFixed(2)} + sink ${plainSinkCpuMs.toFixed(2)}, ` +
          `end-to-end ${queueCpuText(endToEnd)} | load ${load()}`,
      );
    }
    log('');
    log(
      `median of ${ROUNDS} round(s); every message reached the sink exactly once and every record is sent after one attempt; load average ${load()}`,
    );
    log(
      `nodemailer pool (baseline: build + submit in one process)  ${median(rounds.map((r) => r.plain))
        .toFixed(0)
        .padStart(6)} messages/s`,
    );
    log(
      `end-to-end (API process → queue → worker process → sink)    ${median(rounds.map((r) => r.endToEnd.rate))
        .toFixed(0)
        .padStart(6)} messages/s   ` +
        `ratio ${median(rounds.map((r) => r.endToEnd.rate / r.plain)).toFixed(2)}   first request started → last job completed`,
    );
    log(
      `drain only (worker process, queue filled beforehand)        ${median(rounds.map((r) => r.drain.rate))
        .toFixed(0)
        .padStart(6)} messages/s   ` +
        `ratio ${median(rounds.map((r) => r.drain.rate / r.plain)).toFixed(2)}   queue resumed → last job completed`,
    );
    log(
      `API part alone (compose + record + enqueue, worker paused)  ${median(rounds.map((r) => r.drain.apiRate))
        .toFixed(0)
        .padStart(6)} requests/s   ` + `ratio ${median(rounds.map((r) => r.drain.apiRate / r.plain)).toFixed(2)}`,
    );
    const medianRedis = rounds.every((r) => r.endToEnd.services.redis !== null)
      ? median(rounds.map((r) => r.endToEnd.services.redis ?? 0))
      : null;
    log(
      `CPU ms per message, every process (end-to-end rounds): nodemailer ${median(rounds.map((r) => r.plainCpuMs)).toFixed(2)} + sink ${median(rounds.map((r) => r.plainSinkCpuMs)).toFixed(2)}; ` +
        `through the queue ${queueCpuText({
          apiCpuMs: median(rounds.map((r) => r.endToEnd.apiCpuMs)),
          workerCpuMs: median(rounds.map((r) => r.endToEnd.workerCpuMs)),
          services: {
            postgres: median(rounds.map((r) => r.endToEnd.services.postgres)),
            redis: medianRedis,
            sink: median(rounds.map((r) => r.endToEnd.services.sink)),
          },
        })}`,
    );
  } finally {
    for (const part of started.reverse()) await part.stop();
    await sink.stop();
    await admin((client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(databaseName)} WITH (FORCE)`),
    );
  }
}

await main();
