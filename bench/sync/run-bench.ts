import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule, migrationDataSourceOptions, provisionAppRole } from '@app/database';
import { MailModule } from '@app/mail';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { DataSource } from 'typeorm';

import { AccountSyncService } from '../../apps/worker/src/sync/account-sync.service.js';
import { SYNC_PROVIDERS } from '../../apps/worker/src/sync/index.js';
import { generateCorpus, writeCorpus } from '../../apps/worker/test/support/mail-corpus.js';
import { addMailUser, seedMailbox, startMailStack, stopMailStack } from '../../test/infra/mail-stack.js';
import { baselineSync } from './baseline-sync.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const TENANT = 'bench';
const PASSWORD = 'bench-password';

@Module({})
class SyncEngineBenchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: SyncEngineBenchModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot('email_service-bench'), RedisModule, TenancyModule, CryptoModule, QueueModule, MailModule],
      providers: SYNC_PROVIDERS,
    };
  }
}

async function freePortRange(count: number): Promise<number> {
  const free = async (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 30_000 + Math.floor(Math.random() * 2_000) * 10;
    if ((await Promise.all(Array.from({ length: count }, (_, offset) => free(base + offset)))).every(Boolean)) return base;
  }
  throw new Error('no free ports');
}

function withDatabase(url: string, name: string, role?: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  if (role) {
    parsed.username = role;
    parsed.password = role;
  }
  return parsed.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Samples this process's resident set size (parser threads included) while `work` runs. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const databaseName = `mail_bench_${runId}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'mail-bench-'));
  const ownerUrl = withDatabase(ADMIN_URL, databaseName);
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(ADMIN_URL, databaseName, 'email_service_bench_app'),
    DATABASE_MIGRATION_URL: ownerUrl,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bench-${runId}`,
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    LOG_LEVEL: 'ERROR',
  };
  const config = loadConfig(env);
  await admin(`CREATE DATABASE "${databaseName}"`);
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
      const corpus = generateCorpus({ count: MESSAGES, domain: stack.domain, tag: 'bench', maxAttachmentBytes: 80_000, typicalAttachmentBytes: 9_000, replyRatio: 0.3 });
      return { files: writeCorpus(join(stateDir, 'corpus'), corpus), averageKb: corpus.reduce((total, message) => total + message.raw.length, 0) / corpus.length / 1024 };
    })();
    for (let index = 0; index < files.length; index += 2_000) await seedMailbox(stack, user, 'INBOX', files.slice(index, index + 2_000));
    // Both contenders read a warm page cache.
    execFileSync('bash', ['-c', `cat ${JSON.stringify(join(stateDir, 'mail'))}/*/*/Maildir/cur/* > /dev/null`]);

    (globalThis as { gc?: () => void }).gc?.();
    const app = await NestFactory.createApplicationContext(SyncEngineBenchModule.forRoot(config), { logger: ['error'] });
    const context = app.get(TenantContext);
    const account = await context.run(TENANT, () =>
      app.get(AccountRepository).create({
        email: user, displayName: null, imapHost: '127.0.0.1', imapPort: stack.imapPort, imapSecurity: 'none', imapUsername: user,
        smtpHost: '127.0.0.1', smtpPort: stack.smtpPort, smtpSecurity: 'none', smtpUsername: user,
        encryptedPassword: app.get(CredentialCipher).encrypt(PASSWORD), allowSelfSignedCertificates: false,
      }),
    );

    const engine = await measured(() => context.run(TENANT, () => app.get(AccountSyncService).run({ tenantId: TENANT, accountId: account.id, trigger: 'manual' }, null)));
    if (engine.result.state !== 'succeeded') throw new Error(`engine sync ${engine.result.state}: ${JSON.stringify(engine.result)}`);
    const engineRate = engine.result.stats.messagesAdded / engine.seconds;
    await app.close();

    const db = new pg.Client({ connectionString: ownerUrl });
    await db.connect();
    const baselineAccount = await db.query<{ id: string }>(
      `INSERT INTO "mail_accounts" ("tenant_id", "email", "imap_host", "imap_port", "imap_security", "imap_username", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "encrypted_password")
       VALUES ($1, 'baseline@bench', '127.0.0.1', 1, 'none', 'x', '127.0.0.1', 1, 'none', 'x', 'x') RETURNING "id"`,
      [TENANT],
    );
    const accountId = baselineAccount.rows[0]?.id ?? '';
    const folder = await db.query<{ id: string }>(`INSERT INTO "mail_folders" ("tenant_id", "account_id", "path", "name") VALUES ($1, $2, 'INBOX', 'INBOX') RETURNING "id"`, [TENANT, accountId]);
    await db.end();
    const baseline = await measured(() =>
      baselineSync({ databaseUrl: ownerUrl, imap: { host: '127.0.0.1', port: stack.imapPort, user, password: PASSWORD }, tenantId: TENANT, accountId, folderId: folder.rows[0]?.id ?? '' }),
    );
    const baselineRate = baseline.result / baseline.seconds;

    process.stdout.write(
      [
        `mailbox: ${MESSAGES} messages, average ${averageKb.toFixed(1)} KB`,
        `engine:   ${engine.result.stats.messagesAdded} messages in ${engine.seconds.toFixed(1)} s = ${engineRate.toFixed(0)} messages/s, peak RSS ${engine.peakRssMb} MB`,
        `baseline: ${baseline.result} messages in ${baseline.seconds.toFixed(1)} s = ${baselineRate.toFixed(0)} messages/s (one COPY)`,
        `ratio engine/baseline: ${(engineRate / baselineRate).toFixed(2)}`,
      ].join('\n') + '\n',
    );
    await stopMailStack(stack);
  } finally {
    await admin(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
