import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule, migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { MailModule, MimeParserPool } from '@app/mail';
import { MetricsModule } from '@app/observability';
import { JobName, JobProducer, QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { AccountSyncService } from '../../apps/worker/src/sync/account-sync.service.js';
import { SYNC_PROVIDERS } from '../../apps/worker/src/sync/index.js';
import { generateCorpus, writeCorpus } from '../../test/support/mail-corpus.js';
import { addMailUser, seedMailbox, startMailStack, stopMailStack } from '../../test/infra/mail-stack.js';
import { baselineSync } from './baseline-sync.js';
import { CpuMeter } from '../support/cpu-meter.js';
import type { CpuSeconds } from '../support/cpu-meter.js';
import { freePortRange } from '../support/free-ports.js';
import { benchDatabaseUrl, runAsAdmin } from '../support/bench-database.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Messages of 1-10 MB for the memory bound; 0 skips that part. */
const LARGE_MESSAGES = Number(process.env.BENCH_LARGE_MESSAGES ?? 200);
/** The first page a client shows of INBOX. */
const NEWEST_PAGE = 50;
const TENANT = 'bench';
const PASSWORD = 'bench-password';

@Module({})
class SyncEngineBenchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: SyncEngineBenchModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-bench'),
        RedisModule,
        TenancyModule,
        CryptoModule,
        QueueModule,
        MailModule,
        MetricsModule.forApp('worker'),
      ],
      providers: SYNC_PROVIDERS,
    };
  }
}

interface Round {
  messages: number;
  seconds: number;
  /** From the sync request until the newest page of INBOX was stored (engine only). */
  newestPageMs?: number;
  peakRssMb: number;
  cpu: CpuSeconds;
  /** One-minute load average when the round ended. */
  load: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Samples this process's resident set size (parser threads included) while `work` runs, and the
 * CPU time of this process and of the database's backends.
 */
async function measured<T>(
  databaseName: string,
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; peakRssMb: number; cpu: CpuSeconds }> {
  let peak = process.memoryUsage().rss;
  const cpu = new CpuMeter(databaseName);
  let ticks = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    ticks += 1;
    if (ticks % 5 === 0) cpu.sample();
  }, 50);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      result,
      seconds,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576),
      cpu: cpu.read(),
    };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Fetches every source once. The seeded files were copied into the Maildir, so Dovecot knows
 * nothing of them (sizes included) that delivery would have recorded, and its first full read
 * runs well below later ones: a contender going first would pay for it alone.
 */
async function readMailboxOnce(imap: { port: number; user: string; password: string }): Promise<void> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: imap.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: imap.user, pass: imap.password },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  try {
    await client.mailboxOpen('INBOX', { readOnly: true });
    for await (const message of client.fetch('1:*', {
      uid: true,
      source: true,
      flags: true,
      size: true,
      internalDate: true,
    }))
      void message;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

function cpuText(cpu: CpuSeconds, messages: number): string {
  const perMessage = (seconds: number): string => ((seconds * 1000) / Math.max(1, messages)).toFixed(2);
  return (
    `CPU node ${cpu.node.toFixed(1)} s (main thread ${cpu.mainThread.toFixed(1)} s), postgres ${cpu.postgres.toFixed(1)} s = ` +
    `${perMessage(cpu.node)} + ${perMessage(cpu.postgres)} ms per message`
  );
}

/**
 * Polls for the newest NEWEST_PAGE UIDs of the account's INBOX, as a client's first page would
 * list them, and resolves with the time since `startedAt` when all are stored.
 */
function watchNewestPage(ownerUrl: string, accountId: string, newestUid: number, startedAt: number) {
  let stopped = false;
  const client = new pg.Client({ connectionString: ownerUrl });
  const done = (async (): Promise<number | undefined> => {
    await client.connect();
    try {
      while (!stopped) {
        const { rows } = await client.query<{ stored: string }>(
          `SELECT count(*) AS "stored" FROM "mail_messages" m JOIN "mail_folders" f ON f."id" = m."folder_id"
            WHERE f."account_id" = $1 AND f."path" = 'INBOX' AND m."uid" > $2`,
          [accountId, newestUid - NEWEST_PAGE],
        );
        if (Number(rows[0]?.stored) >= NEWEST_PAGE) return Date.now() - startedAt;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return undefined;
    } finally {
      await client.end();
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}

/** Random bytes in base64 lines, so neither Dovecot nor PostgreSQL compresses them away. */
function largeMessage(index: number, domain: string, attachmentBytes: number): string {
  const body = randomBytes(attachmentBytes).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `From: Sender ${index} <sender${index}@${domain}>`,
    `To: bench@${domain}`,
    `Subject: large attachment ${index}`,
    `Date: ${new Date(Date.UTC(2024, 0, 1, 0, index)).toUTCString()}`,
    `Message-ID: <large-${index}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Attachment ${index} follows.`,
    '--b',
    `Content-Type: application/octet-stream; name="data-${index}.bin"`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="data-${index}.bin"`,
    '',
    body,
    '--b--',
    '',
  ].join('\r\n');
}

async function main(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const databaseName = `mail_bench_${runId}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'mail-bench-'));
  const ownerUrl = benchDatabaseUrl(ADMIN_URL, databaseName);
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: benchDatabaseUrl(ADMIN_URL, databaseName, 'email_service_bench_app'),
    DATABASE_MIGRATION_URL: ownerUrl,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bench-${runId}`,
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    LOG_LEVEL: 'ERROR',
  };
  const config = loadConfig(env);
  await runAsAdmin(ADMIN_URL, `CREATE DATABASE "${databaseName}"`);
  try {
    const migrations = new DataSource(migrationDataSourceOptions(config, 'email_service-bench-migrate', ownerUrl));
    await migrations.initialize();
    await migrations.runMigrations({ transaction: 'each' });
    await migrations.destroy();
    await provisionAppRole(ownerUrl, env.DATABASE_URL);

    process.stdout.write(`Seeding ${MESSAGES} messages...\n`);
    const stack = await startMailStack({ stateDir, basePort: await freePortRange(8) });
    const user = `bench@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    // Generated and written in a scope of its own, so the corpus is garbage before RSS is sampled.
    const { files, averageKb } = ((): { files: string[]; averageKb: number } => {
      const corpus = generateCorpus({
        count: MESSAGES,
        domain: stack.domain,
        tag: 'bench',
        maxAttachmentBytes: 80_000,
        typicalAttachmentBytes: 9_000,
        replyRatio: 0.3,
      });
      return {
        files: writeCorpus(join(stateDir, 'corpus'), corpus),
        averageKb: corpus.reduce((total, message) => total + message.raw.length, 0) / corpus.length / 1024,
      };
    })();
    for (let index = 0; index < files.length; index += 2_000)
      await seedMailbox(stack, user, 'INBOX', files.slice(index, index + 2_000));
    // Both contenders read a warm page cache and a mailbox Dovecot has read before.
    execFileSync('bash', ['-c', `cat ${JSON.stringify(join(stateDir, 'mail'))}/*/*/Maildir/cur/* > /dev/null`]);
    await readMailboxOnce({ port: stack.imapPort, user, password: PASSWORD });

    (globalThis as { gc?: () => void }).gc?.();
    const app = await NestFactory.createApplicationContext(SyncEngineBenchModule.forRoot(config), {
      logger: ['error'],
    });
    const context = app.get(TenantContext);
    const db = new pg.Client({ connectionString: ownerUrl });
    await db.connect();
    let largeLine = `large mail: skipped (BENCH_LARGE_MESSAGES=0)`;
    if (LARGE_MESSAGES > 0) {
      const largeUser = `large@${stack.domain}`;
      await addMailUser(stack, largeUser, PASSWORD);
      const largeDir = join(stateDir, 'large');
      mkdirSync(largeDir, { recursive: true });
      let largeBytes = 0;
      const largeFiles: string[] = [];
      for (let index = 0; index < LARGE_MESSAGES; index += 1) {
        const attachmentBytes = 1_048_576 + Math.floor(Math.random() * 9 * 1_048_576);
        const file = join(largeDir, `${index}.eml`);
        const raw = largeMessage(index, stack.domain, attachmentBytes);
        writeFileSync(file, raw);
        largeBytes += raw.length;
        largeFiles.push(file);
      }
      for (let index = 0; index < largeFiles.length; index += 50)
        await seedMailbox(stack, largeUser, 'INBOX', largeFiles.slice(index, index + 50));
      const account = await context.run(TENANT, () =>
        app.get(AccountRepository).create({
          email: largeUser,
          displayName: null,
          imapHost: '127.0.0.1',
          imapPort: stack.imapPort,
          imapSecurity: 'none',
          imapUsername: largeUser,
          smtpHost: '127.0.0.1',
          smtpPort: stack.smtpPort,
          smtpSecurity: 'none',
          smtpUsername: largeUser,
          encryptedPassword: app.get(CredentialCipher).encrypt(PASSWORD),
          allowSelfSignedCertificates: false,
        }),
      );
      // Synced by the built worker in a process of its own, so its peak RSS is a worker's alone.
      const worker = spawn(process.execPath, [join(process.cwd(), 'dist', 'apps', 'worker', 'src', 'main.js')], {
        env: {
          ...process.env,
          ...env,
          JWT_SECRET: randomBytes(32).toString('hex'),
          WORKER_HEALTH_PORT: '0',
          WATCH_ENABLED: 'false',
          SYNC_CONCURRENCY: '1',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const startedAt = Date.now();
      try {
        const job = await app
          .get(JobProducer)
          .enqueue(JobName.SyncAccount, { tenantId: TENANT, accountId: account.id, trigger: 'manual' });
        for (let state = await job.getState(); state !== 'completed'; state = await job.getState()) {
          if (state === 'failed' || worker.exitCode !== null) throw new Error(`large-mail sync ${state}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const finished = await app
          .get(JobProducer)
          .queueFor(JobName.SyncAccount)
          .getJob(job.id ?? '');
        const outcome = finished?.returnvalue as { state: string; stats?: { messagesAdded: number } } | undefined;
        if (outcome?.state !== 'succeeded') throw new Error(`large-mail sync: ${JSON.stringify(outcome)}`);
        const peakKb = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))?.[1]);
        largeLine = `large mail: ${outcome.stats?.messagesAdded} messages of 1-10 MB (${(largeBytes / 1_048_576).toFixed(0)} MB) in ${((Date.now() - startedAt) / 1000).toFixed(1)} s from the worker's start, worker peak RSS ${Math.round(peakKb / 1024)} MB`;
      } finally {
        worker.kill('SIGTERM');
        await once(worker, 'exit');
      }
      process.stdout.write(`${largeLine}\n`);
    }
    const engineRound = async (round: number): Promise<Round> => {
      const account = await context.run(TENANT, () =>
        app.get(AccountRepository).create({
          email: `round${round}-${user}`,
          displayName: null,
          imapHost: '127.0.0.1',
          imapPort: stack.imapPort,
          imapSecurity: 'none',
          imapUsername: user,
          smtpHost: '127.0.0.1',
          smtpPort: stack.smtpPort,
          smtpSecurity: 'none',
          smtpUsername: user,
          encryptedPassword: app.get(CredentialCipher).encrypt(PASSWORD),
          allowSelfSignedCertificates: false,
        }),
      );
      const newestPage = watchNewestPage(ownerUrl, account.id, MESSAGES, Date.now());
      const run = await measured(databaseName, () =>
        context.run(TENANT, () =>
          app.get(AccountSyncService).run({ tenantId: TENANT, accountId: account.id, trigger: 'manual' }, null),
        ),
      );
      newestPage.stop();
      const newestPageMs = await newestPage.done;
      if (run.result.state !== 'succeeded')
        throw new Error(`engine sync ${run.result.state}: ${JSON.stringify(run.result)}`);
      return {
        messages: run.result.stats.messagesAdded,
        seconds: run.seconds,
        newestPageMs,
        peakRssMb: run.peakRssMb,
        cpu: run.cpu,
        load: loadavg()[0] ?? 0,
      };
    };
    const baselineRound = async (round: number): Promise<Round> => {
      const baselineAccount = await db.query<{ id: string }>(
        `INSERT INTO "mail_accounts" ("tenant_id", "email", "imap_host", "imap_port", "imap_security", "imap_username", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "encrypted_password")
         VALUES ($1, $2, '127.0.0.1', 1, 'none', 'x', '127.0.0.1', 1, 'none', 'x', 'x') RETURNING "id"`,
        [TENANT, `baseline${round}@bench`],
      );
      const accountId = baselineAccount.rows[0]?.id ?? '';
      const folder = await db.query<{ id: string }>(
        `INSERT INTO "mail_folders" ("tenant_id", "account_id", "path", "name") VALUES ($1, $2, 'INBOX', 'INBOX') RETURNING "id"`,
        [TENANT, accountId],
      );
      const run = await measured(databaseName, () =>
        baselineSync({
          databaseUrl: ownerUrl,
          imap: { host: '127.0.0.1', port: stack.imapPort, user, password: PASSWORD },
          tenantId: TENANT,
          accountId,
          folderId: folder.rows[0]?.id ?? '',
        }),
      );
      return {
        messages: run.result,
        seconds: run.seconds,
        peakRssMb: run.peakRssMb,
        cpu: run.cpu,
        load: loadavg()[0] ?? 0,
      };
    };

    // The machine is shared: rounds alternate, so both contenders see the same background load,
    // and the ratio of medians is reported next to every round.
    const lines = [
      `mailbox: ${MESSAGES} messages, average ${averageKb.toFixed(1)} KB; ${ROUNDS} rounds, engine and baseline alternating, each going first in turn`,
    ];
    const engineRates: number[] = [];
    const baselineRates: number[] = [];
    const engineCpu: number[] = [];
    const baselineCpu: number[] = [];
    const engineNodeMs: number[] = [];
    const enginePostgresMs: number[] = [];
    const baselinePostgresMs: number[] = [];
    const newestPageMs: number[] = [];
    let peakRssMb = 0;
    for (let round = 1; round <= ROUNDS; round += 1) {
      // Who goes first alternates too: the first writes into a fresh database and the first
      // run of each side's code in this process cost more than later ones.
      const engineFirst = round % 2 === 1;
      (globalThis as { gc?: () => void }).gc?.();
      const first = engineFirst ? await engineRound(round) : await baselineRound(round);
      (globalThis as { gc?: () => void }).gc?.();
      const second = engineFirst ? await baselineRound(round) : await engineRound(round);
      const [engine, baseline] = engineFirst ? [first, second] : [second, first];
      engineRates.push(engine.messages / engine.seconds);
      baselineRates.push(baseline.messages / baseline.seconds);
      engineCpu.push(engine.cpu.node + engine.cpu.postgres);
      engineNodeMs.push((engine.cpu.node * 1000) / engine.messages);
      enginePostgresMs.push((engine.cpu.postgres * 1000) / engine.messages);
      if (engine.newestPageMs !== undefined) newestPageMs.push(engine.newestPageMs);
      baselineCpu.push(baseline.cpu.node + baseline.cpu.postgres);
      baselinePostgresMs.push((baseline.cpu.postgres * 1000) / baseline.messages);
      peakRssMb = Math.max(peakRssMb, engine.peakRssMb);
      lines.push(
        `round ${round}: engine ${engine.messages} messages in ${engine.seconds.toFixed(1)} s = ${(engine.messages / engine.seconds).toFixed(0)} messages/s, newest ${NEWEST_PAGE} of INBOX stored after ${engine.newestPageMs ?? '-'} ms (peak RSS ${engine.peakRssMb} MB, ${cpuText(engine.cpu, engine.messages)}, load ${engine.load.toFixed(2)}); ` +
          `baseline ${baseline.messages} in ${baseline.seconds.toFixed(1)} s = ${(baseline.messages / baseline.seconds).toFixed(0)} messages/s (${cpuText(baseline.cpu, baseline.messages)}, load ${baseline.load.toFixed(2)}); ratio ${(engine.messages / engine.seconds / (baseline.messages / baseline.seconds)).toFixed(2)}`,
      );
      process.stdout.write(`${lines.at(-1)}\n`);
    }
    // What any sync with full content meets on this machine: reading every source over IMAP, and
    // mailparser on every source with both cores. Each alone is an upper bound of messages/s.
    (globalThis as { gc?: () => void }).gc?.();
    const fetchStarted = process.hrtime.bigint();
    await readMailboxOnce({ port: stack.imapPort, user, password: PASSWORD });
    const fetchRate = MESSAGES / (Number(process.hrtime.bigint() - fetchStarted) / 1e9);
    const parser = app.get(MimeParserPool);
    const sources = files.map((file) => readFileSync(file));
    const parseStarted = process.hrtime.bigint();
    const parseCpuStarted = process.cpuUsage();
    for (let index = 0; index < sources.length; index += 200)
      await Promise.all(sources.slice(index, index + 200).map((source) => parser.parse(source)));
    const parseRate = MESSAGES / (Number(process.hrtime.bigint() - parseStarted) / 1e9);
    const parseCpu = process.cpuUsage(parseCpuStarted);
    const parseMs = (parseCpu.user + parseCpu.system) / 1000 / MESSAGES;
    const parserThreads = parser.threads;

    await db.end();
    await app.close();
    const nodeMs = median(engineNodeMs);
    const postgresMs = median(enginePostgresMs);
    lines.push(
      `engine:   ${median(engineRates).toFixed(0)} messages/s (median), all ${MESSAGES} stored after ${(MESSAGES / median(engineRates)).toFixed(1)} s, newest ${NEWEST_PAGE} of INBOX after ${median(newestPageMs).toFixed(0)} ms (median), worker peak RSS ${peakRssMb} MB, ${median(engineCpu).toFixed(1)} CPU-s node + postgres (median) = ${nodeMs.toFixed(2)} + ${postgresMs.toFixed(2)} = ${(nodeMs + postgresMs).toFixed(2)} CPU-ms per message`,
      `baseline: ${median(baselineRates).toFixed(0)} messages/s (median; fetch -> mailparser -> one COPY), ${median(baselineCpu).toFixed(1)} CPU-s node + postgres (median)`,
      `ratio engine/baseline: ${(median(engineRates) / median(baselineRates)).toFixed(2)}`,
      `ceilings on this machine: IMAP fetch of every source alone ${fetchRate.toFixed(0)} messages/s; mailparser alone on ${parserThreads} threads ${parseRate.toFixed(0)} messages/s`,
      `floor of CPU per stored message: mailparser alone ${parseMs.toFixed(2)} ms (all threads) + PostgreSQL taking the baseline's COPY ${median(baselinePostgresMs).toFixed(2)} ms (median) = ${(parseMs + median(baselinePostgresMs)).toFixed(2)} ms, before IMAP, threading and the change log`,
      largeLine,
    );
    process.stdout.write(`${lines.slice(0, 1).concat(lines.slice(-6)).join('\n')}\n`);
    await stopMailStack(stack);
  } finally {
    await runAsAdmin(ADMIN_URL, `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
