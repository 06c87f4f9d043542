import { randomUUID } from 'node:crypto';
import { AppConfig, ConfigModule } from '@app/config';
import {
  BulkActionRepository,
  DatabaseModule,
  DraftRepository,
  MessageActionRepository,
  SendRecordRepository,
  SyncRunRepository,
} from '@app/database';
import { JobName, JobProducer, QueueModule, QueueName } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import pg from 'pg';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';
import { emptySendValues } from '../../../test/support/account-values.js';
import { crossTenantTestConfig } from '../../../test/support/test-config.js';
import { RECONCILE_LOCK_KEY, ReconcileCron } from '../src/crons/reconcile.cron.js';
import type { ReconcileResult } from '../src/crons/reconcile.cron.js';
import { ACTION_JOB_ENDED_REASON, ReconciledKinds, SYNC_JOB_ENDED_REASON } from '../src/crons/reconciled-kinds.js';
import { TenantSweep } from '../src/crons/tenant-sweep.js';

@Module({})
class ReconcileTestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ReconcileTestModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-reconcile-test'),
        RedisModule,
        TenancyModule,
        QueueModule,
        ScheduleModule.forRoot(),
      ],
      providers: [TenantSweep, ReconciledKinds, ReconcileCron],
    };
  }
}

const FOLDERS = [
  { path: 'INBOX', role: 'inbox' },
  { path: 'Trash', role: 'trash' },
];
const ALL_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized'] as const;
const EMPTY_DRAFT = {
  to: [],
  cc: [],
  bcc: [],
  subject: 'draft',
  textBody: 'body',
  htmlBody: null,
  inReplyTo: null,
  references: [],
  attachments: [],
};

describe('ReconcileCron', () => {
  // A queue of its own (key prefix) so the test can end jobs with a worker of its own; the tenants are its own too.
  const config = crossTenantTestConfig({
    REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:reconcile-${randomUUID().slice(0, 8)}`,
    RECONCILE_SECONDS: '3600',
  });
  const tenantA = `reconcile-a-${randomUUID().slice(0, 8)}`;
  const tenantB = `reconcile-b-${randomUUID().slice(0, 8)}`;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let a: Mailbox;
  let b: Mailbox;
  const inTenant = <T>(tenantId: string, work: () => Promise<T>): Promise<T> =>
    app.get(TenantContext).run(tenantId, work);
  const producer = (): JobProducer => app.get(JobProducer);
  const reconcile = async (): Promise<Extract<ReconcileResult, { state: 'reconciled' }>> => {
    const result = await app.get(ReconcileCron).run();
    if (result.state !== 'reconciled') throw new Error(`reconciliation did not run: ${JSON.stringify(result)}`);
    return result;
  };

  async function jobsOf(tenantId: string): Promise<string[]> {
    const ids: string[] = [];
    for (const queue of producer().allQueues()) {
      for (const job of await queue.getJobs([...ALL_STATES])) {
        if ((job.data as { tenantId?: string }).tenantId === tenantId)
          ids.push(`${job.name}:${job.id ?? ''}:${await job.getState()}`);
      }
    }
    return ids.sort();
  }

  async function send(tenantId: string, accountId: string): Promise<string> {
    const { record } = await inTenant(tenantId, () =>
      app.get(SendRecordRepository).createIdempotent(emptySendValues(accountId), null),
    );
    return record.id;
  }

  /** Ends the queue's waiting jobs the way a worker would, each as `outcome` says. */
  async function runJobs(outcome: (job: Job) => 'complete' | 'fail'): Promise<void> {
    const workers = Object.values(QueueName).map(
      (name) =>
        new Worker(
          name,
          (job: Job) =>
            outcome(job) === 'fail'
              ? Promise.reject(new UnrecoverableError('ended by the test'))
              : Promise.resolve('ended by the test'),
          {
            connection: { url: config.redis.queueUrl, maxRetriesPerRequest: null },
            prefix: `${config.redis.keyPrefix}:queue`,
            autorun: false,
          },
        ),
    );
    try {
      for (const worker of workers) void worker.run();
      const unfinished = async (): Promise<number> => {
        let count = 0;
        for (const queue of producer().allQueues())
          count += Object.values(await queue.getJobCounts('waiting', 'active', 'prioritized')).reduce(
            (sum, n) => sum + n,
            0,
          );
        return count;
      };
      for (let waited = 0; (await unfinished()) > 0; waited += 1) {
        if (waited > 200) throw new Error('jobs were not run');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
    }
  }

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(ReconcileTestModule.forRoot(config), {
      logger: false,
      abortOnError: false,
    });
    owner = new pg.Client({ connectionString: process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL });
    await owner.connect();
    a = await insertMailbox(
      tenantA,
      `owner@${tenantA}.example.test`,
      FOLDERS,
      [{ key: 'm1', folder: 'INBOX', receivedAt: '2026-01-05T10:00:00Z', flags: [] }],
      process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL,
    );
    b = await insertMailbox(
      tenantB,
      `owner@${tenantB}.example.test`,
      FOLDERS,
      [{ key: 'm1', folder: 'INBOX', receivedAt: '2026-01-05T10:00:00Z', flags: [] }],
      process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL,
    );
  });

  afterAll(async () => {
    for (const queue of app ? producer().allQueues() : []) await queue.obliterate({ force: true });
    await owner?.end();
    await app?.close();
  });

  it("enqueues again, in every tenant and under the first enqueue's ids, every record whose job is missing, and nothing twice", async () => {
    const sendA = await send(tenantA, a.accountId);
    const sendB = await send(tenantB, b.accountId);
    const run = await inTenant(tenantA, () =>
      app.get(SyncRunRepository).create({ accountId: a.accountId, trigger: 'manual', full: true, jobId: '1' }),
    );
    const { actionId } = await inTenant(tenantB, () =>
      app.get(MessageActionRepository).requestFlags(b.messageIds.m1 ?? '', { seen: true }),
    );
    const bulk = await inTenant(tenantA, () =>
      app.get(BulkActionRepository).create({
        accountId: a.accountId,
        action: 'seen',
        selection: { ids: [a.messageIds.m1 ?? ''] },
        maxMessages: 10,
      }),
    );
    const draft = await inTenant(tenantA, () => app.get(DraftRepository).create(a.accountId, EMPTY_DRAFT));
    const removed = await inTenant(tenantB, () => app.get(DraftRepository).create(b.accountId, EMPTY_DRAFT));
    await inTenant(tenantB, () => app.get(DraftRepository).markMirrored(removed.id, removed.version));
    await inTenant(tenantB, () => app.get(DraftRepository).delete(removed.id));
    // An unrelated job holding the run's recorded counter id, as after Redis was emptied and refilled.
    await producer().enqueue(JobName.SyncAccount, { tenantId: tenantB, accountId: b.accountId, trigger: 'schedule' });

    const first = await reconcile();

    expect(first.failedTenants).toBe(0);
    expect(first.kinds.sends?.enqueued).toBeGreaterThanOrEqual(2);
    expect(first.kinds.syncRuns?.enqueued).toBeGreaterThanOrEqual(1);
    expect(first.kinds.messageActions?.enqueued).toBeGreaterThanOrEqual(1);
    expect(first.kinds.draftMirrors?.enqueued).toBeGreaterThanOrEqual(2);
    expect(first.kinds.bulkActions?.enqueued).toBeGreaterThanOrEqual(1);
    const syncJob = (await producer().queueFor(JobName.SyncAccount).getJobs(['waiting'])).find(
      (job) => (job.data as { syncRunId?: string }).syncRunId === run.id,
    );
    expect(syncJob?.data).toEqual({
      tenantId: tenantA,
      accountId: a.accountId,
      trigger: 'manual',
      syncRunId: run.id,
      full: true,
    });
    expect(await jobsOf(tenantA)).toEqual(
      [
        // The bulk action's member has its bulk's job, none of its own.
        `${JobName.ApplyBulkAction}:bulk-${bulk.id}:waiting`,
        `${JobName.SendEmail}:send-${sendA}:waiting`,
        `${JobName.SyncDraft}:draft-${draft.id}-v${draft.version}:waiting`,
        `${JobName.SyncAccount}:${syncJob?.id ?? ''}:waiting`,
      ].sort(),
    );
    expect((await inTenant(tenantA, () => app.get(SyncRunRepository).findById(run.id)))?.jobId).toBe(syncJob?.id);
    // Tenant B's sync job is the unrelated one added above, not a second one.
    expect(await jobsOf(tenantB)).toEqual(
      [
        `${JobName.ApplyMessageAction}:action-${actionId}:waiting`,
        `${JobName.SendEmail}:send-${sendB}:waiting`,
        `${JobName.SyncAccount}:1:waiting`,
        `${JobName.SyncDraft}:draft-${removed.id}-v${removed.version}-removed:waiting`,
      ].sort(),
    );

    // Every job is there now: a second run finds nothing to do and adds nothing.
    const before = [...(await jobsOf(tenantA)), ...(await jobsOf(tenantB))];
    await reconcile();
    expect([...(await jobsOf(tenantA)), ...(await jobsOf(tenantB))]).toEqual(before);
  });

  it('acts on records whose job ended without settling them: sends and drafts run again, a sync run is closed, an action undone', async () => {
    await runJobs((job) =>
      job.name === String(JobName.ApplyMessageAction) || job.name === String(JobName.ApplyBulkAction)
        ? 'fail'
        : 'complete',
    );
    const result = await reconcile();

    expect(result.kinds.sends?.enqueued).toBeGreaterThanOrEqual(2);
    expect(result.kinds.draftMirrors?.enqueued).toBeGreaterThanOrEqual(2);
    expect(result.kinds.syncRuns?.settled).toBeGreaterThanOrEqual(1);
    expect(result.kinds.messageActions?.settled).toBeGreaterThanOrEqual(1);
    const runs = await owner.query<{ state: string; error: string }>(
      `SELECT state, error FROM sync_runs WHERE tenant_id = $1`,
      [tenantA],
    );
    expect(runs.rows).toEqual([{ state: 'failed', error: SYNC_JOB_ENDED_REASON }]);
    const actions = await owner.query<{ state: string; error: string }>(
      `SELECT state, error FROM mail_message_actions WHERE tenant_id = $1`,
      [tenantB],
    );
    expect(actions.rows).toEqual([{ state: 'failed', error: ACTION_JOB_ENDED_REASON }]);
    const message = await owner.query<{ flags: string[] }>(`SELECT flags FROM mail_messages WHERE id = $1`, [
      b.messageIds.m1,
    ]);
    expect(message.rows[0]?.flags).toEqual([]);
    expect(result.kinds.bulkActions?.settled).toBeGreaterThanOrEqual(1);
    const bulks = await owner.query<{ state: string; error: string; done: number; failed: number }>(
      `SELECT state, error, done, failed FROM bulk_actions WHERE tenant_id = $1`,
      [tenantA],
    );
    expect(bulks.rows).toEqual([{ state: 'failed', error: ACTION_JOB_ENDED_REASON, done: 0, failed: 1 }]);
    const members = await owner.query<{ state: string; flags: string[] }>(
      `SELECT a.state, m.flags FROM mail_message_actions a JOIN mail_messages m ON m.id = a.message_id WHERE a.tenant_id = $1`,
      [tenantA],
    );
    expect(members.rows).toEqual([{ state: 'failed', flags: [] }]);
    // The ended jobs were replaced by waiting ones of the same ids.
    expect((await jobsOf(tenantA)).filter((job) => job.startsWith(JobName.SendEmail))).toEqual([
      expect.stringMatching(/^send-email:send-.*:waiting$/),
    ]);
  });

  it("leaves a send a live attempt holds alone, takes it over once the claim expired, and keeps a retry's delay", async () => {
    const sendRecords = app.get(SendRecordRepository);
    const held = await send(tenantA, a.accountId);
    const retrying = await send(tenantA, a.accountId);
    await inTenant(tenantA, () => sendRecords.claimAttempts([held, retrying], 60_000));
    await inTenant(tenantA, () =>
      sendRecords.markRetrying(retrying, 1, '451 try later', new Date(Date.now() + 600_000)),
    );

    await reconcile();
    const queue = producer().queueFor(JobName.SendEmail);
    expect(await queue.getJob(`send-${held}`)).toBeUndefined();
    // A duplicate job of the held record cannot claim it either.
    expect((await inTenant(tenantA, () => sendRecords.claimAttempts([held], 60_000))).size).toBe(0);
    const retry = await queue.getJob(`send-${retrying}`);
    expect(await retry?.getState()).toBe('delayed');
    expect(retry?.opts.delay).toBeGreaterThan(590_000);

    // The holder died: past its claim the record is enqueued again and can be claimed.
    await owner.query(`UPDATE send_records SET claimed_until = now() - interval '1 second' WHERE id = $1`, [held]);
    await reconcile();
    expect(await (await queue.getJob(`send-${held}`))?.getState()).toBe('waiting');
    expect([...(await inTenant(tenantA, () => sendRecords.claimAttempts([held], 60_000))).keys()]).toEqual([held]);
  });

  it('lets only one scheduler replica act at a time', async () => {
    const otherReplica = new pg.Client({ connectionString: process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL });
    await otherReplica.connect();
    try {
      await otherReplica.query('SELECT pg_advisory_lock($1)', [RECONCILE_LOCK_KEY]);
      await expect(app.get(ReconcileCron).run()).resolves.toEqual({
        state: 'skipped',
        reason: 'another scheduler holds the lock',
      });
    } finally {
      await otherReplica.end();
    }
  });
});
