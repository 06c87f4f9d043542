import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import {
  AccountRepository,
  DatabaseModule,
  DraftRepository,
  SendRecordRepository,
  StoredAttachmentRepository,
} from '@app/database';
import type { StoredAttachmentRef } from '@app/database';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';

import { unreachableAccount } from '../../../test/support/account-values.js';
import { crossTenantTestConfig } from '../../../test/support/test-config.js';
import { ATTACHMENT_PURGE_LOCK_KEY, AttachmentPurgeCron } from '../src/crons/attachment-purge.cron.js';
import { TenantSweep } from '../src/crons/tenant-sweep.js';

@Module({})
class PurgeTestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PurgeTestModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot('email_service-purge-test'), TenancyModule],
      providers: [TenantSweep, AttachmentPurgeCron],
    };
  }
}

/** The owner's connection: ages rows and holds locks the way another process would. */
async function ownerClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL });
  await client.connect();
  return client;
}

describe('AttachmentPurgeCron', () => {
  const tenants = [`purge-a-${randomUUID().slice(0, 8)}`, `purge-b-${randomUUID().slice(0, 8)}`];
  let app: INestApplicationContext;
  let owner: pg.Client;
  let accountA: string;
  let accountB: string;

  const inTenant = <T>(tenantId: string, work: () => Promise<T>): Promise<T> =>
    app.get(TenantContext).run(tenantId, work);

  async function accountOf(tenantId: string): Promise<string> {
    const email = `owner@${tenantId}.example.test`;
    const created = await inTenant(tenantId, () => app.get(AccountRepository).create(unreachableAccount(email)));
    return created.id;
  }

  async function store(tenantId: string, accountId: string, name: string): Promise<StoredAttachmentRef> {
    const [ref] = await inTenant(tenantId, () =>
      app
        .get(StoredAttachmentRepository)
        .store(accountId, [{ filename: name, contentType: 'text/plain', content: Buffer.from(name) }]),
    );
    if (!ref) throw new Error('nothing stored');
    return ref;
  }

  async function age(refs: StoredAttachmentRef[], hours: number): Promise<void> {
    await owner.query(
      `UPDATE stored_attachments SET created_at = now() - make_interval(hours => $2) WHERE id = ANY($1::uuid[])`,
      [refs.map((ref) => ref.storageKey), hours],
    );
  }

  async function remaining(refs: StoredAttachmentRef[]): Promise<string[]> {
    const result = await owner.query<{ filename: string }>(
      'SELECT filename FROM stored_attachments WHERE id = ANY($1::uuid[]) ORDER BY filename',
      [refs.map((ref) => ref.storageKey)],
    );
    return result.rows.map((row) => row.filename);
  }

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(PurgeTestModule.forRoot(crossTenantTestConfig()), {
      logger: false,
      abortOnError: false,
    });
    owner = await ownerClient();
    accountA = await accountOf(tenants[0] ?? '');
    accountB = await accountOf(tenants[1] ?? '');
  });

  afterAll(async () => {
    await owner?.end();
    await app?.close();
  });

  it('removes what nothing has pointed at for 24 hours, in every tenant, and keeps the rest', async () => {
    const [a, b] = tenants as [string, string];
    const unusedUpload = await store(a, accountA, 'a-unused-upload');
    const inDraft = await store(a, accountA, 'a-in-draft');
    const inQueuedSend = await store(a, accountA, 'a-in-queued-send');
    const inFiledSend = await store(a, accountA, 'a-in-filed-send');
    const recentUpload = await store(a, accountA, 'a-recent-upload');
    const lockedUpload = await store(a, accountA, 'a-locked-upload');
    const otherTenantUpload = await store(b, accountB, 'b-unused-upload');
    await inTenant(a, async () => {
      await app.get(DraftRepository).create(accountA, {
        to: [],
        cc: [],
        bcc: [],
        subject: 'kept',
        textBody: null,
        htmlBody: null,
        inReplyTo: null,
        references: [],
        attachments: [inDraft],
      });
      const sendRecords = app.get(SendRecordRepository);
      const content = (attachment: StoredAttachmentRef) => ({
        from: { name: '', address: 'a@example.test' },
        to: [],
        cc: [],
        bcc: [],
        replyTo: [],
        subject: '',
        text: null,
        html: null,
        inReplyTo: null,
        references: [],
        attachments: [attachment],
      });
      await sendRecords.createIdempotent(
        {
          accountId: accountA,
          draftId: null,
          messageId: `<${randomUUID()}@example.test>`,
          content: content(inQueuedSend),
        },
        null,
      );
      const filed = await sendRecords.createIdempotent(
        {
          accountId: accountA,
          draftId: null,
          messageId: `<${randomUUID()}@example.test>`,
          content: content(inFiledSend),
        },
        null,
      );
      await sendRecords.claimAttempts([], 60_000, [{ id: filed.record.id, response: '250 OK', sentCopyFiled: true }]);
    });
    const all = [unusedUpload, inDraft, inQueuedSend, inFiledSend, recentUpload, lockedUpload, otherTenantUpload];
    await age(
      all.filter((ref) => ref !== recentUpload),
      25,
    );
    await age([recentUpload], 23);

    // A request in flight that is naming the upload holds it (lockForReference): the purge passes it by.
    const inFlight = await ownerClient();
    try {
      await inFlight.query('BEGIN');
      await inFlight.query('SELECT id FROM stored_attachments WHERE id = $1 FOR SHARE', [lockedUpload.storageKey]);
      const result = await app.get(AttachmentPurgeCron).run();
      expect(result).toMatchObject({ state: 'purged' });
      expect(result.state === 'purged' && result.attachments).toBeGreaterThanOrEqual(3);
    } finally {
      await inFlight.query('ROLLBACK');
      await inFlight.end();
    }

    expect(await remaining(all)).toEqual(['a-in-draft', 'a-in-queued-send', 'a-locked-upload', 'a-recent-upload']);
  });

  it('lets only one scheduler replica purge at a time', async () => {
    const [a] = tenants as [string, string];
    const upload = await store(a, accountA, 'a-while-locked');
    await age([upload], 25);
    const otherReplica = await ownerClient();
    try {
      await otherReplica.query('SELECT pg_advisory_lock($1)', [ATTACHMENT_PURGE_LOCK_KEY]);
      await expect(app.get(AttachmentPurgeCron).run()).resolves.toEqual({
        state: 'skipped',
        reason: 'another scheduler holds the lock',
      });
      expect(await remaining([upload])).toEqual(['a-while-locked']);
      await otherReplica.query('SELECT pg_advisory_unlock($1)', [ATTACHMENT_PURGE_LOCK_KEY]);

      await expect(app.get(AttachmentPurgeCron).run()).resolves.toMatchObject({ state: 'purged' });
      expect(await remaining([upload])).toEqual([]);
    } finally {
      await otherReplica.end();
    }
  });
});
