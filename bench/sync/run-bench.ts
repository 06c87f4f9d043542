import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule, migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { MailModule } from '@app/mail';
import { MetricsModule } from '@app/observability';
import { QueueModule } from '@app/queue';
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

function cpuText(cpu: CpuSeconds): string {
  return `CPU node ${cpu.node.toFixed(1)} s (main thread ${cpu.mainThread.toFixed(1)} s), postgres ${cpu.postgres.toFixed(1)} s`;
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
      const run = await measured(databaseName, () =>
        context.run(TENANT, () =>
          app.get(AccountSyncService).run({ tenantId: TENANT, accountId: account.id, trigger: 'manual' }, null),
        ),
      );
      if (run.result.state !== 'succeeded')
        throw new Error(`engine sync ${run.result.state}: ${JSON.stringify(run.result)}`);
      return {
        messages: run.result.stats.messagesAdded,
        seconds: run.seconds,
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
      baselineCpu.push(baseline.cpu.node + baseline.cpu.postgres);
      peakRssMb = Math.max(peakRssMb, engine.peakRssMb);
      lines.push(
        `round ${round}: engine ${engine.messages} messages in ${engine.seconds.toFixed(1)} s = ${(engine.messages / engine.seconds).toFixed(0)} messages/s (peak RSS ${engine.peakRssMb} MB, ${cpuText(engine.cpu)}, load ${engine.load.toFixed(2)}); ` +
          `baseline ${baseline.messages} in ${baseline.seconds.toFixed(1)} s = ${(baseline.messages / baseline.seconds).toFixed(0)} messages/s (${cpuText(baseline.cpu)}, load ${baseline.load.toFixed(2)}); ratio ${(engine.messages / engine.seconds / (baseline.messages / baseline.seconds)).toFixed(2)}`,
      );
      process.stdout.write(`${lines.at(-1)}\n`);
    }
    await db.end();
    await app.close();
    lines.push(
      `engine:   ${median(engineRates).toFixed(0)} messages/s (median), worker peak RSS ${peakRssMb} MB, ${median(engineCpu).toFixed(1)} CPU-s node + postgres (median)`,
      `baseline: ${median(baselineRates).toFixed(0)} messages/s (median; fetch -> mailparser -> one COPY), ${median(baselineCpu).toFixed(1)} CPU-s node + postgres (median)`,
      `ratio engine/baseline: ${(median(engineRates) / median(baselineRates)).toFixed(2)}`,
    );
    process.stdout.write(`${lines.slice(0, 1).concat(lines.slice(-3)).join('\n')}\n`);
    await stopMailStack(stack);
  } finally {
    await runAsAdmin(ADMIN_URL, `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
