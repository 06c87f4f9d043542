import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import { AccountRepository, DatabaseModule } from '@app/database';
import type { MailAccount, MailAttachment, MailMessage } from '@app/database';
import { MailModule } from '@app/mail';
import { MetricsModule } from '@app/observability';
import { QueueModule } from '@app/queue';
import type { SyncAccountPayload } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule, TenantContext, TenantScope } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { EntityManager } from 'typeorm';

import { testConfig } from './test-config.js';
import { AccountSyncService } from '../../apps/worker/src/sync/account-sync.service.js';
import type { AccountSyncOutcome } from '../../apps/worker/src/sync/account-sync.service.js';
import { PARSE_PROVIDERS } from '../../apps/worker/src/parse/index.js';
import { SYNC_PROVIDERS } from '../../apps/worker/src/sync/index.js';

/** The sync engine with its real dependencies, without BullMQ workers consuming the shared queues. */
@Module({})
class SyncEngineTestModule {
  /** A test that cuts its own connections (pg_terminate_backend) finds them by `applicationName`. */
  static forRoot(config: AppConfig, applicationName = 'email_service-sync-test'): DynamicModule {
    return {
      module: SyncEngineTestModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(applicationName),
        RedisModule,
        TenancyModule,
        CryptoModule,
        QueueModule,
        MailModule,
        MetricsModule.forApp('worker'),
      ],
      providers: [...SYNC_PROVIDERS, ...PARSE_PROVIDERS],
    };
  }
}

/** A message row as the sync left it, with its folder's path and its attachments. */
export type StoredMessage = Pick<
  MailMessage,
  | 'id'
  | 'uidValidity'
  | 'messageId'
  | 'inReplyTo'
  | 'references'
  | 'threadId'
  | 'subject'
  | 'fromName'
  | 'fromAddress'
  | 'to'
  | 'cc'
  | 'sentAt'
  | 'receivedAt'
  | 'flags'
  | 'size'
  | 'hasAttachments'
  | 'snippet'
  | 'textBody'
  | 'htmlBody'
  | 'headers'
  | 'parseState'
  | 'updatedAt'
> & {
  folder: string;
  /** A number here; the entity keeps the bigint column as a string. */
  uid: number;
  attachments: Pick<MailAttachment, 'partId' | 'filename' | 'contentType' | 'size' | 'contentId' | 'inline'>[];
};

export class SyncHarness {
  private constructor(
    readonly app: INestApplicationContext,
    readonly config: AppConfig,
  ) {}

  /**
   * The harness runs syncs in the test's own process and consumes no queue, so the jobs a sync
   * enqueues (parse-message) go to queues of their own unless the test names a prefix: a worker
   * started by another test file would otherwise take them and rewrite rows under this test.
   */
  static async start(overrides: Record<string, string> = {}, applicationName?: string): Promise<SyncHarness> {
    const config = testConfig({
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:harness-${process.pid}-${randomUUID().slice(0, 8)}`,
      ...overrides,
    });
    const app = await NestFactory.createApplicationContext(SyncEngineTestModule.forRoot(config, applicationName), {
      logger: false,
      abortOnError: false,
    });
    return new SyncHarness(app, config);
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  async asTenant<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.app.get(TenantContext).run(tenantId, work);
  }

  async createAccount(
    tenantId: string,
    email: string,
    password: string,
    port: number,
    host = '127.0.0.1',
  ): Promise<MailAccount> {
    const cipher = this.app.get(CredentialCipher);
    return this.asTenant(tenantId, () =>
      this.app.get(AccountRepository).create({
        email,
        displayName: null,
        imapHost: host,
        imapPort: port,
        imapSecurity: 'none',
        imapUsername: email,
        smtpHost: '127.0.0.1',
        smtpPort: 25,
        smtpSecurity: 'none',
        smtpUsername: email,
        encryptedPassword: cipher.encrypt(password),
        allowSelfSignedCertificates: false,
      }),
    );
  }

  async sync(
    tenantId: string,
    accountId: string,
    extra: Partial<SyncAccountPayload> = {},
  ): Promise<AccountSyncOutcome> {
    return this.asTenant(tenantId, () =>
      this.app.get(AccountSyncService).run({ tenantId, accountId, trigger: 'manual', ...extra }, null),
    );
  }

  async query<T>(tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.asTenant(tenantId, () => this.app.get(TenantScope).transaction((manager) => work(manager)));
  }

  async account(tenantId: string, accountId: string): Promise<MailAccount> {
    const account = await this.asTenant(tenantId, () => this.app.get(AccountRepository).findById(accountId));
    if (!account) throw new Error(`account ${accountId} not found`);
    return account;
  }

  async storedMessages(tenantId: string, accountId: string): Promise<StoredMessage[]> {
    return this.query(tenantId, async (manager) => {
      const rows: Record<string, unknown>[] = await manager.query(
        `SELECT m."id", f."path" AS "folder", m."uid", m."uid_validity", m."message_id", m."in_reply_to", m."references", m."thread_id",
           m."subject", m."from_name", m."from_address", m."to", m."cc", m."sent_at", m."received_at", m."flags", m."size",
           m."has_attachments", m."snippet", m."text_body", m."html_body", m."headers", m."parse_state", m."updated_at",
           coalesce((SELECT json_agg(json_build_object('partId', a."part_id", 'filename', a."filename", 'contentType', a."content_type",
             'size', a."size", 'contentId', a."content_id", 'inline', a."inline") ORDER BY a."part_id")
             FROM "mail_attachments" a WHERE a."message_id" = m."id"), '[]') AS "attachments"
         FROM "mail_messages" m JOIN "mail_folders" f ON f."id" = m."folder_id"
         WHERE m."account_id" = $1 ORDER BY f."path", m."uid"`,
        [accountId],
      );
      return rows.map((row) => ({
        id: row.id as string,
        folder: row.folder as string,
        uid: Number(row.uid),
        uidValidity: row.uid_validity as string,
        messageId: row.message_id as string | null,
        inReplyTo: row.in_reply_to as string | null,
        references: row.references as string[],
        threadId: row.thread_id as string | null,
        subject: row.subject as string | null,
        fromName: row.from_name as string | null,
        fromAddress: row.from_address as string | null,
        to: row.to as StoredMessage['to'],
        cc: row.cc as StoredMessage['cc'],
        sentAt: row.sent_at as Date | null,
        receivedAt: row.received_at as Date,
        flags: row.flags as string[],
        size: row.size as number,
        hasAttachments: row.has_attachments as boolean,
        snippet: row.snippet as string | null,
        textBody: row.text_body as string | null,
        htmlBody: row.html_body as string | null,
        headers: row.headers as StoredMessage['headers'],
        parseState: row.parse_state as StoredMessage['parseState'],
        updatedAt: row.updated_at as Date,
        attachments: row.attachments as StoredMessage['attachments'],
      }));
    });
  }
}
