import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import { AccountRepository, ChangeLogRepository, DatabaseModule, DraftRepository } from '@app/database';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';

import { unreachableAccount } from '../../../test/support/account-values.js';
import { crossTenantTestConfig } from '../../../test/support/test-config.js';
import { ChangeLogRetentionCron } from '../src/crons/change-log-retention.cron.js';
import { TenantSweep } from '../src/crons/tenant-sweep.js';

@Module({})
class RetentionTestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RetentionTestModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot('email_service-retention-test'), TenancyModule],
      providers: [TenantSweep, ChangeLogRetentionCron],
    };
  }
}

describe('ChangeLogRetentionCron', () => {
  const [tenantA, tenantB] = [`retention-a-${randomUUID().slice(0, 8)}`, `retention-b-${randomUUID().slice(0, 8)}`];
  let app: INestApplicationContext;
  let owner: pg.Client;

  const inTenant = <T>(tenantId: string, work: () => Promise<T>): Promise<T> =>
    app.get(TenantContext).run(tenantId, work);

  /** An account with `drafts` drafts saved one by one: one change each. */
  async function accountWithDrafts(tenantId: string, drafts: number): Promise<string> {
    return inTenant(tenantId, async () => {
      const account = await app.get(AccountRepository).create(unreachableAccount(`log@${tenantId}.example.test`));
      for (let index = 0; index < drafts; index += 1) {
        await app.get(DraftRepository).create(account.id, {
          to: [],
          cc: [],
          bcc: [],
          subject: `draft ${index}`,
          textBody: null,
          htmlBody: null,
          inReplyTo: null,
          references: [],
          attachments: [],
        });
      }
      return account.id;
    });
  }

  async function age(accountId: string, throughSeq: number, days: number): Promise<void> {
    await owner.query(
      `UPDATE change_log SET at = now() - make_interval(days => $3) WHERE account_id = $1 AND seq <= $2`,
      [accountId, throughSeq, days],
    );
  }

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(
      RetentionTestModule.forRoot(crossTenantTestConfig({ CHANGES_RETENTION_DAYS: '30' })),
      { logger: false, abortOnError: false },
    );
    owner = new pg.Client({ connectionString: process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL });
    await owner.connect();
  });

  afterAll(async () => {
    await owner?.end();
    await app?.close();
  });

  it('deletes changes older than the retention in every tenant and records how far each log is gone', async () => {
    const accountA = await accountWithDrafts(tenantA, 3);
    const accountB = await accountWithDrafts(tenantB, 2);
    await age(accountA, 2, 31);
    await age(accountB, 2, 29);

    const result = await app.get(ChangeLogRetentionCron).run();

    expect(result).toMatchObject({ state: 'pruned', changes: 2 });
    const log = app.get(ChangeLogRepository);
    await inTenant(tenantA, async () => {
      expect((await log.listSince(accountA, 0, 10)).map((change) => change.seq)).toEqual([3]);
      expect(await log.position(accountA)).toEqual({ lastSeq: 3, prunedThrough: 2 });
    });
    await inTenant(tenantB, async () => {
      expect((await log.listSince(accountB, 0, 10)).map((change) => change.seq)).toEqual([1, 2]);
      expect(await log.position(accountB)).toEqual({ lastSeq: 2, prunedThrough: 0 });
    });
  });
});
