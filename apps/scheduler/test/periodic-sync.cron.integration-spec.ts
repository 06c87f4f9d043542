import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import { AccountRepository, DatabaseModule, TenantRepository } from '@app/database';
import { MetricsModule } from '@app/observability';
import { JobName, JobProducer, QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';

import { unreachableAccount } from '../../../test/support/account-values.js';
import { crossTenantTestConfig } from '../../../test/support/test-config.js';
import { PeriodicSyncCron } from '../src/crons/periodic-sync.cron.js';
import { TenantSweep } from '../src/crons/tenant-sweep.js';

@Module({})
class CronTestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CronTestModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-periodic-sync-test'),
        RedisModule,
        TenancyModule,
        QueueModule,
        MetricsModule.forApp('scheduler'),
        ScheduleModule.forRoot(),
      ],
      providers: [TenantSweep, PeriodicSyncCron],
    };
  }
}

// A schedule that never fires during the test: ticks are driven by hand.
const NEVER = { SYNC_CRON: '0 0 1 1 *' };

async function scheduler(overrides: Record<string, string> = {}): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    CronTestModule.forRoot(crossTenantTestConfig({ ...NEVER, ...overrides })),
    { logger: false, abortOnError: false },
  );
}

describe('PeriodicSyncCron', () => {
  const tenants = [`cron-a-${randomUUID().slice(0, 8)}`, `cron-b-${randomUUID().slice(0, 8)}`];
  let first: INestApplicationContext;
  let second: INestApplicationContext;
  const due: string[] = [];

  async function account(app: INestApplicationContext, tenantId: string, email: string): Promise<string> {
    return app.get(TenantContext).run(tenantId, async () => {
      await app.get(TenantRepository).register(tenantId);
      const created = await app.get(AccountRepository).create(unreachableAccount(email));
      return created.id;
    });
  }

  async function queuedFor(app: INestApplicationContext): Promise<string[]> {
    const jobs = await app
      .get(JobProducer)
      .queueFor(JobName.SyncAccount)
      .getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
    return jobs
      .map((job) => job.data as { tenantId: string; accountId: string; trigger: string })
      .filter((data) => tenants.includes(data.tenantId))
      .map((data) => `${data.accountId}:${data.trigger}`)
      .sort();
  }

  beforeAll(async () => {
    first = await scheduler();
    second = await scheduler();
    due.push(
      await account(first, tenants[0] ?? '', 'a1@example.test'),
      await account(first, tenants[1] ?? '', 'b1@example.test'),
    );
    const backingOff = await account(first, tenants[0] ?? '', 'a2@example.test');
    const inactive = await account(first, tenants[1] ?? '', 'b2@example.test');
    await first
      .get(TenantContext)
      .run(tenants[0] ?? '', () =>
        first
          .get(AccountRepository)
          .update(backingOff, { nextSyncAfter: new Date(Date.now() + 3600_000), syncState: 'failed' }),
      );
    await first
      .get(TenantContext)
      .run(tenants[1] ?? '', () => first.get(AccountRepository).update(inactive, { active: false }));
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('registers the configured schedule dynamically', () => {
    expect(first.get(PeriodicSyncCron)).toBeDefined();
  });

  it('lets only one of two racing schedulers enqueue, once per due account, across tenants', async () => {
    const tick = new Date();
    const results = await Promise.all([first.get(PeriodicSyncCron).run(tick), second.get(PeriodicSyncCron).run(tick)]);

    expect(results.filter((result) => result.state === 'enqueued')).toHaveLength(1);
    expect(results.filter((result) => result.state === 'skipped')).toHaveLength(1);
    expect(await queuedFor(first)).toEqual(due.map((id) => `${id}:schedule`).sort());
    const state = await first
      .get(TenantContext)
      .run(tenants[0] ?? '', () => first.get(AccountRepository).findById(due[0] ?? ''));
    expect(state?.syncState).toBe('queued');
  });

  it('does nothing when IMAP sync is disabled', async () => {
    const disabled = await scheduler({ ENABLE_IMAP_SYNC: 'false' });
    try {
      await expect(disabled.get(PeriodicSyncCron).run(new Date(Date.now() + 120_000))).resolves.toEqual({
        state: 'disabled',
      });
      expect(await queuedFor(first)).toHaveLength(due.length);
    } finally {
      await disabled.close();
    }
  });
});
