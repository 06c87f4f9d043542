/**
 * `npm run bench:send`: 1,000 sends through the real path — send records in PostgreSQL, the
 * BullMQ send queue, the worker's send processor with its state machine and pooled transports —
 * into a local SMTP sink, next to plain nodemailer pushing the same messages through a pool of
 * the same size. Prints messages/s for both and their ratio, and checks at the sink that every
 * Message-ID arrived exactly once. Creates its own database and drops it afterwards.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (superuser, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (default 1000),
 * BENCH_POOL_SIZE (SMTP_POOL_SIZE for both sides, default 5), BENCH_SEND_CONCURRENCY (worker
 * SEND_CONCURRENCY, default 20), BENCH_ACCOUNTS (accounts the queue side sends from, default 1),
 * BENCH_ROUNDS (baseline and queue measured alternately, default 3).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { loadavg } from 'node:os';

import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule, migrationDataSourceOptions, OutboundMessageRepository, provisionAppRole } from '@app/database';
import type { MailAccount } from '@app/database';
import { MailModule } from '@app/mail';
import { MetricsModule } from '@app/observability';
import { JobName, JobProducer, QueueModule } from '@app/queue';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createTransport } from 'nodemailer';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { SendEmailProcessor } from '../../apps/worker/src/processors/send-email.processor.js';
import { DEFAULT_SENT_COPY_POLICY, SEND_PROVIDERS, SENT_COPY_POLICY } from '../../apps/worker/src/send/index.js';
import type { SinkReply, SinkRequest } from './sink-process.js';

const env = process.env;
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 1000);
const POOL_SIZE = Number(env.BENCH_POOL_SIZE ?? 5);
const SEND_CONCURRENCY = Number(env.BENCH_SEND_CONCURRENCY ?? 20);
const ACCOUNTS = Number(env.BENCH_ACCOUNTS ?? 1);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const APP_ROLE = 'mail_bench_send_app';
const TENANT = 'bench-sender';
const SINK_HOST = '127.0.0.1';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

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

@Module({})
class SendBenchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: SendBenchModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot('email_service-bench-send'), TenancyModule, CryptoModule, QueueModule, MailModule, MetricsModule.forApp('worker')],
      providers: [
        ...SEND_PROVIDERS,
        // The sink is no IMAP server: treat it like a provider that files Sent copies itself, so
        // both sides measure the same work (SMTP submission).
        { provide: SENT_COPY_POLICY, useValue: { selfFilingSmtpHosts: [...DEFAULT_SENT_COPY_POLICY.selfFilingSmtpHosts, SINK_HOST] } },
        SendEmailProcessor,
      ],
    };
  }
}

function body(index: number): { subject: string; text: string; html: string } {
  return {
    subject: `Benchmark message ${index} — Grüße`,
    text: `Hello,\n\nthis is benchmark message ${index}.\n\n${'Lorem ipsum dolor sit amet. '.repeat(20)}`,
    html: `<p>Hello,</p><p>this is benchmark message <b>${index}</b>.</p><p>${'Lorem ipsum dolor sit amet. '.repeat(20)}</p>`,
  };
}

/** The sink process: its port, and how often each Message-ID reached it so far. */
class Sink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

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

async function verify(sink: Sink, expected: readonly string[], label: string): Promise<void> {
  const counts = await sink.countsByMessageId();
  const lost = expected.filter((id) => !counts.has(id));
  const doubled = expected.filter((id) => (counts.get(id) ?? 0) > 1);
  log(`${label}: ${expected.length} sent, ${lost.length} lost, ${doubled.length} doubled`);
  if (lost.length > 0 || doubled.length > 0) throw new Error(`${label}: messages lost or doubled`);
}

async function baseline(sink: Sink): Promise<number> {
  const transport = createTransport({ host: SINK_HOST, port: sink.port, secure: false, ignoreTLS: true, pool: true, maxConnections: POOL_SIZE, maxMessages: Infinity });
  const ids = Array.from({ length: MESSAGES }, () => `<${randomUUID()}@bench.example>`);
  const started = performance.now();
  await Promise.all(
    ids.map((messageId, index) =>
      transport.sendMail({ from: 'Bench <bench@bench.example>', to: 'Sink <sink@sink.example>', messageId, date: new Date(), ...body(index) }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  await verify(sink, ids, 'nodemailer pool');
  return MESSAGES / seconds;
}

/**
 * `end-to-end`: the clock runs while records are created and enqueued (the API's part) and the
 * worker drains them, all in this process. `drain`: the queue is paused while the records are
 * enqueued, and the clock measures only the worker taking them from the queue to the server.
 */
async function throughQueue(config: AppConfig, sink: Sink, mode: 'end-to-end' | 'drain', round: number): Promise<number> {
  const app = await NestFactory.createApplicationContext(SendBenchModule.forRoot(config), { logger: ['error'] });
  try {
    const tenant = app.get(TenantContext);
    const accounts: MailAccount[] = await tenant.run(TENANT, async () => {
      const cipher = app.get(CredentialCipher);
      const created: MailAccount[] = [];
      for (let index = 0; index < ACCOUNTS; index += 1) {
        created.push(
          await app.get(AccountRepository).create({
            email: `bench-${mode}-${round}-${index}@bench.example`,
            displayName: `Bench ${index}`,
            imapHost: SINK_HOST,
            imapPort: 1,
            imapSecurity: 'none',
            imapUsername: `bench-${mode}-${round}-${index}@bench.example`,
            smtpHost: SINK_HOST,
            smtpPort: sink.port,
            smtpSecurity: 'none',
            smtpUsername: `bench-${mode}-${round}-${index}@bench.example`,
            encryptedPassword: cipher.encrypt('bench'),
            allowSelfSignedCertificates: false,
          }),
        );
      }
      return created;
    });
    const outbound = app.get(OutboundMessageRepository);
    const producer = app.get(JobProducer);
    const ids: string[] = [];
    const recordIds: string[] = [];

    const queue = producer.queueFor(JobName.SendEmail);
    if (mode === 'drain') await queue.pause();
    let started = performance.now();
    // Records are created and enqueued the way the API does it, 50 requests at a time.
    for (let offset = 0; offset < MESSAGES; offset += 50) {
      const batch = Array.from({ length: Math.min(50, MESSAGES - offset) }, (_, position) => offset + position);
      await Promise.all(
        batch.map(async (index) => {
          const account = accounts[index % accounts.length];
          if (!account) throw new Error('no account');
          const messageId = `<${randomUUID()}@bench.example>`;
          ids.push(messageId);
          const { record } = await tenant.run(TENANT, () =>
            outbound.createIdempotent(
              {
                accountId: account.id,
                draftId: null,
                messageId,
                content: {
                  from: { name: account.displayName ?? '', address: account.email },
                  to: [{ name: 'Sink', address: 'sink@sink.example' }],
                  cc: [],
                  bcc: [],
                  replyTo: [],
                  ...body(index),
                  inReplyTo: null,
                  references: [],
                  attachments: [],
                },
              },
              `bench-${mode}-${round}-${index}`,
            ),
          );
          recordIds.push(record.id);
          await producer.enqueue(JobName.SendEmail, { tenantId: TENANT, outboundMessageId: record.id });
        }),
      );
    }
    if (mode === 'drain') {
      started = performance.now();
      await queue.resume();
    }
    const owner = new pg.Client({ connectionString: config.databaseMigrationUrl });
    await owner.connect();
    try {
      for (;;) {
        const { rows } = await owner.query<{ pending: string; failed: string }>(
          `SELECT count(*) FILTER (WHERE state IN ('queued', 'sending') OR sent_copy_appended_at IS NULL AND state = 'sent') AS pending,
                  count(*) FILTER (WHERE state = 'failed') AS failed
             FROM outbound_messages`,
        );
        if (Number(rows[0]?.failed ?? 0) > 0) throw new Error(`${rows[0]?.failed} sends failed`);
        if (Number(rows[0]?.pending ?? 1) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await owner.end();
    }
    const seconds = (performance.now() - started) / 1000;
    await verify(sink, ids, `queue + send processor (${mode})`);
    const jobs = await producer.queueFor(JobName.SendEmail).getJobs(['completed'], 0, MESSAGES);
    const average = (values: number[]): string => (values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length)).toFixed(1);
    log(
      `  per job: waited ${average(jobs.map((job) => (job.processedOn ?? 0) - job.timestamp))} ms in the queue, ` +
        `processed in ${average(jobs.map((job) => (job.finishedOn ?? 0) - (job.processedOn ?? 0)))} ms (average of ${jobs.length})`,
    );
    await Promise.all(producer.allQueues().map((queue) => queue.obliterate({ force: true })));
    return MESSAGES / seconds;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const databaseName = `mail_bench_send_${randomBytes(4).toString('hex')}`;
  const ownerUrl = databaseUrl(databaseName);
  const appUrl = databaseUrl(databaseName, APP_ROLE);
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: appUrl,
    DATABASE_MIGRATION_URL: ownerUrl,
    DATABASE_POOL_SIZE: String(Math.max(10, SEND_CONCURRENCY * 2)),
    REDIS_URL,
    REDIS_KEY_PREFIX: databaseName,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SMTP_POOL_SIZE: String(POOL_SIZE),
    SEND_CONCURRENCY: String(SEND_CONCURRENCY),
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'ERROR',
  });
  await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`));
  const sink = await Sink.start();
  try {
    const migrator = new DataSource(migrationDataSourceOptions(config, 'email_service-bench-migrate', ownerUrl));
    await migrator.initialize();
    await migrator.runMigrations({ transaction: 'each' });
    await migrator.destroy();
    await provisionAppRole(ownerUrl, appUrl);
    log(`${MESSAGES} messages, SMTP pool ${POOL_SIZE}, send concurrency ${SEND_CONCURRENCY}, ${ACCOUNTS} account(s), ${ROUNDS} round(s), sink on port ${sink.port}`);

    // Each round measures the baseline right before the queue path, so both see the same machine;
    // the median of the rounds' ratios is the figure that counts on a machine shared with other work.
    const rounds: { plain: number; endToEnd: number; drain: number }[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const plain = await baseline(sink);
      const endToEnd = await throughQueue(config, sink, 'end-to-end', round);
      const drain = await throughQueue(config, sink, 'drain', round);
      rounds.push({ plain, endToEnd, drain });
      log(`round ${round}: nodemailer ${plain.toFixed(0)}/s, enqueue + drain ${endToEnd.toFixed(0)}/s (${(endToEnd / plain).toFixed(2)}), drain ${drain.toFixed(0)}/s (${(drain / plain).toFixed(2)})`);
    }
    const median = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
    };
    log('');
    log(`median of ${ROUNDS} round(s), load average ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
    log(`nodemailer pool (baseline)                 ${median(rounds.map((r) => r.plain)).toFixed(0).padStart(6)} messages/s`);
    log(`queue + send processor, enqueue + drain    ${median(rounds.map((r) => r.endToEnd)).toFixed(0).padStart(6)} messages/s   ratio ${median(rounds.map((r) => r.endToEnd / r.plain)).toFixed(2)}`);
    log(`queue + send processor, drain only         ${median(rounds.map((r) => r.drain)).toFixed(0).padStart(6)} messages/s   ratio ${median(rounds.map((r) => r.drain / r.plain)).toFixed(2)}`);
  } finally {
    await sink.stop();
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(databaseName)} WITH (FORCE)`));
  }
}

await main();
