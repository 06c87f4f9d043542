import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import { CredentialCipher, CryptoModule } from '@app/crypto';
import {
  AccountRepository,
  DatabaseModule,
  DraftRepository,
  SendRecordRepository,
  StoredAttachmentRepository,
} from '@app/database';
import type { Draft, DraftContent, MailAccount, NewStoredAttachment, SendContent, SendRecord } from '@app/database';
import { MailModule, messageIdDomain } from '@app/mail';
import { MetricsModule } from '@app/observability';
import { JobName, JobProducer, QueueModule } from '@app/queue';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext, Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { eventually, testConfig } from './test-config.js';
import { DRAFT_PROVIDERS } from '../../apps/worker/src/drafts/index.js';
import { MAILBOX_PROVIDERS } from '../../apps/worker/src/mailbox/index.js';
import { SendEmailProcessor } from '../../apps/worker/src/processors/send-email.processor.js';
import { SyncDraftProcessor } from '../../apps/worker/src/processors/sync-draft.processor.js';
import { SEND_PROVIDERS, SEND_RETRY_POLICY, SEND_TEST_HOOKS } from '../../apps/worker/src/send/index.js';
import type { SendRetryPolicy, SendTestHooks } from '../../apps/worker/src/send/index.js';

/** Retries in tests come within a second, not minutes. */
export const FAST_RETRY_POLICY: SendRetryPolicy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 };

export interface SendHarnessOptions {
  policy?: SendRetryPolicy;
  hooks?: SendTestHooks;
  /** Config overrides; REDIS_KEY_PREFIX defaults to a prefix of its own so other suites' workers never take these jobs. */
  env?: Record<string, string>;
  /** False: only produce jobs and read records, leaving the queue to another worker (a child process). */
  consume?: boolean;
}

@Module({})
class SendWorkerTestModule {
  static forRoot(config: AppConfig, options: SendHarnessOptions): DynamicModule {
    const overrides: Provider[] = [{ provide: SEND_RETRY_POLICY, useValue: options.policy ?? FAST_RETRY_POLICY }];
    if (options.hooks) overrides.push({ provide: SEND_TEST_HOOKS, useValue: options.hooks });
    return {
      module: SendWorkerTestModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-send-test'),
        TenancyModule,
        CryptoModule,
        QueueModule,
        MailModule,
        MetricsModule.forApp('worker'),
      ],
      providers: [
        ...MAILBOX_PROVIDERS,
        ...SEND_PROVIDERS,
        ...DRAFT_PROVIDERS,
        ...overrides,
        ...(options.consume === false ? [] : [SendEmailProcessor, SyncDraftProcessor]),
      ],
    };
  }
}

/** The send and draft processors of the worker, consuming their queues in this process, with the real libs behind it. */
export class SendHarness {
  private constructor(
    readonly app: INestApplicationContext,
    readonly config: AppConfig,
  ) {}

  static async start(options: SendHarnessOptions = {}): Promise<SendHarness> {
    const config = testConfig({
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:send-${randomUUID().slice(0, 8)}`,
      ...options.env,
    });
    const app = await NestFactory.createApplicationContext(SendWorkerTestModule.forRoot(config, options), {
      logger: false,
      abortOnError: false,
    });
    return new SendHarness(app, config);
  }

  get redisKeyPrefix(): string {
    return this.config.redis.keyPrefix;
  }

  async close(): Promise<void> {
    const queues = this.app.get(JobProducer).allQueues();
    await this.app.close();
    // The run's teardown only removes keys under its own prefix; this prefix is ours to clean.
    for (const queue of queues) await queue.obliterate({ force: true }).catch(() => undefined);
  }

  async asTenant<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.app.get(TenantContext).run(tenantId, work);
  }

  async createAccount(
    tenantId: string,
    email: string,
    password: string,
    servers: { imapPort: number; smtpPort: number; smtpHost?: string; displayName?: string },
  ): Promise<MailAccount> {
    const cipher = this.app.get(CredentialCipher);
    return this.asTenant(tenantId, () =>
      this.app.get(AccountRepository).create({
        email,
        displayName: servers.displayName ?? null,
        imapHost: '127.0.0.1',
        imapPort: servers.imapPort,
        imapSecurity: 'none',
        imapUsername: email,
        smtpHost: servers.smtpHost ?? '127.0.0.1',
        smtpPort: servers.smtpPort,
        smtpSecurity: 'none',
        smtpUsername: email,
        encryptedPassword: cipher.encrypt(password),
        allowSelfSignedCertificates: false,
      }),
    );
  }

  /** Stores a send record the way the API does and enqueues its job. */
  async queueSend(
    tenantId: string,
    account: MailAccount,
    content: Partial<SendContent>,
    attachments: NewStoredAttachment[] = [],
    draftId: string | null = null,
  ): Promise<SendRecord> {
    return this.asTenant(tenantId, async () => {
      const refs = await this.app.get(StoredAttachmentRepository).store(account.id, attachments);
      const { record } = await this.app.get(SendRecordRepository).createIdempotent(
        {
          accountId: account.id,
          draftId,
          messageId: `<${randomUUID()}@${messageIdDomain(account.email)}>`,
          content: {
            from: { name: account.displayName ?? '', address: account.email },
            to: [],
            cc: [],
            bcc: [],
            replyTo: [],
            subject: '',
            text: null,
            html: null,
            inReplyTo: null,
            references: [],
            ...content,
            attachments: refs,
          },
        },
        null,
      );
      await this.app.get(JobProducer).enqueue(JobName.SendEmail, { tenantId, sendRecordId: record.id });
      return record;
    });
  }

  async createDraft(tenantId: string, account: MailAccount, content: Partial<DraftContent>): Promise<Draft> {
    return this.asTenant(tenantId, async () => {
      const draft = await this.app.get(DraftRepository).create(account.id, {
        to: [],
        cc: [],
        bcc: [],
        subject: '',
        textBody: null,
        htmlBody: null,
        inReplyTo: null,
        references: [],
        attachments: [],
        ...content,
      });
      await this.app
        .get(JobProducer)
        .enqueue(JobName.SyncDraft, { tenantId, accountId: account.id, draftId: draft.id, version: draft.version });
      return draft;
    });
  }

  async record(tenantId: string, id: string): Promise<SendRecord> {
    const record = await this.asTenant(tenantId, () => this.app.get(SendRecordRepository).findById(id));
    if (!record) throw new Error(`send ${id} not found`);
    return record;
  }

  async draft(tenantId: string, id: string): Promise<Draft | null> {
    return this.asTenant(tenantId, () => this.app.get(DraftRepository).findById(id));
  }

  /** Drafts deleted or sent whose IMAP copy is still to be removed. */
  async draftRemovals(tenantId: string): Promise<string[]> {
    return (await this.asTenant(tenantId, () => this.app.get(DraftRepository).findAwaitingMirror()))
      .filter((draft) => draft.removed)
      .map((draft) => draft.draftId);
  }

  /** Waits until the record reaches a final state (sent with its Sent copy filed, or failed). */
  async settled(tenantId: string, id: string, timeoutMs = 30_000): Promise<SendRecord> {
    return eventually(async () => {
      const record = await this.record(tenantId, id);
      if (record.state === 'failed' || (record.state === 'sent' && record.sentCopyAppendedAt)) return record;
      throw new Error(
        `send ${id} is ${record.state} (attempts ${record.attempts}, last response ${record.lastResponse ?? 'none'})`,
      );
    }, timeoutMs);
  }
}
