import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { JobName, JobProducer } from '@app/queue';
import pg from 'pg';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { eventually } from '../../../test/support/test-config.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';

const TENANT = `sync-resume-${process.pid}`;
const PASSWORD = 'secret-3';
const MESSAGES = 5_000;
/**
 * Queues of this file's own: test files run side by side, and a worker started by another file
 * would otherwise take this job and sync it from the first UID while the killed worker never ran
 * it. The dead worker's job and lease are handed over after 6 s instead of the production 30: with
 * 2 s, a live worker whose event loop stalled for a second on a busy machine (the fault cases run
 * beside this file) lost its lock, its job ran a second time and completed with nothing to add.
 */
const WORKER_ENV = {
  REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:sync-resume`,
  JOB_LOCK_DURATION: '6',
  JOB_STALLED_INTERVAL: '2',
};

describe('IMAP sync engine: a worker killed mid-sync resumes with the UID ranges it did not store', () => {
  let stack: MailStack;
  let harness: SyncHarness;
  let fixtures: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'sync-resume-'));
    harness = await SyncHarness.start({ REDIS_KEY_PREFIX: WORKER_ENV.REDIS_KEY_PREFIX });
  });

  afterAll(async () => {
    for (const worker of workers) await stopProcess(worker, 'SIGKILL');
    await harness?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it(`ends with exactly ${MESSAGES} rows and no duplicates after a SIGKILL`, async () => {
    const user = `resume-${process.pid}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    const corpus = generateCorpus({
      count: MESSAGES,
      domain: stack.domain,
      tag: 'resume',
      kinds: ['plain', 'plain', 'alternative'],
      replyRatio: 0.2,
    });
    await seedMailbox(stack, user, 'INBOX', writeCorpus(fixtures, corpus));
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    const count = async (): Promise<number> =>
      harness.query(TENANT, async (manager) => {
        const [row] = await manager.query<{ count: string }[]>(
          `SELECT count(*) AS "count" FROM "mail_messages" WHERE "account_id" = $1`,
          [accountId],
        );
        return Number(row?.count ?? 0);
      });

    const job = await harness.app
      .get(JobProducer)
      .enqueue(JobName.SyncAccount, { tenantId: TENANT, accountId, trigger: 'manual' });
    const first = startWorkerProcess(WORKER_ENV);
    workers.push(first);
    await eventually(async () => expect(await count()).toBeGreaterThanOrEqual(600), 120_000, 50);
    await stopProcess(first, 'SIGKILL');
    // A COMMIT the worker sent just before it died may still be applied by its backend.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [{ killedAt }] = await harness.query(TENANT, (manager) =>
      manager.query<[{ killedAt: Date }]>(`SELECT now() AS "killedAt"`),
    );
    const [progress] = await harness.query(TENANT, (manager) =>
      manager.query<{ stored_uids: string; stored: string; lowest: string }[]>(
        `SELECT f."stored_uids"::text, count(m."id") AS "stored", min(m."uid") AS "lowest"
         FROM "mail_folders" f LEFT JOIN "mail_messages" m ON m."folder_id" = f."id"
         WHERE f."account_id" = $1 AND f."path" = 'INBOX' GROUP BY f."id"`,
        [accountId],
      ),
    );
    const committed = Number(progress?.stored);
    expect(committed).toBeLessThan(MESSAGES);
    // Newest first, and the folder's progress committed with the rows: exactly the newest UIDs are
    // stored, and the stored range names exactly them.
    expect(Number(progress?.lowest)).toBe(MESSAGES - committed + 1);
    expect(progress?.stored_uids).toBe(`{[${MESSAGES - committed + 1},${MESSAGES + 1})}`);

    const second = startWorkerProcess(WORKER_ENV);
    workers.push(second);
    // BullMQ hands the stalled job over once the dead worker's lock has expired.
    const finished = await eventually(
      async () => {
        const state = await job.getState();
        expect(state).toBe('completed');
        return (
          await harness.app
            .get(JobProducer)
            .queueFor(JobName.SyncAccount)
            .getJob(job.id ?? '')
        )?.returnvalue as { stats: { messagesAdded: number; messagesUpdated: number } };
      },
      120_000,
      250,
    );

    // The restarted run fetched only the UIDs below the last committed batch: no row stored before
    // the kill was written again (an upsert would have moved its updated_at). Its attempt may be
    // the second of the job, when a loaded machine cost the first one its lease; the job then
    // reports the rows of its last attempt only.
    expect(finished.stats.messagesAdded).toBeLessThanOrEqual(MESSAGES - committed);
    expect(finished.stats.messagesUpdated).toBe(0);
    const [rewritten] = await harness.query(TENANT, (manager) =>
      manager.query<{ count: string }[]>(
        `SELECT count(*) AS "count" FROM "mail_messages"
          WHERE "account_id" = $1 AND "uid" > $2 AND "updated_at" > $3`,
        [accountId, MESSAGES - committed, killedAt],
      ),
    );
    expect(Number(rewritten?.count)).toBe(0);
    const rows = await harness.storedMessages(TENANT, accountId);
    expect(rows).toHaveLength(MESSAGES);
    expect(new Set(rows.map((row) => row.uid)).size).toBe(MESSAGES);
    expect(rows.filter((row) => row.parseState !== 'parsed')).toEqual([]);
    expect(new Set(rows.map((row) => row.messageId))).toEqual(
      new Set(corpus.map((message) => message.expect.messageId)),
    );
    const account = await harness.account(TENANT, accountId);
    expect(account.syncState).toBe('idle');
    const runs = await harness.query(TENANT, (manager) =>
      manager.query<{ state: string }[]>(
        `SELECT "state" FROM "sync_runs" WHERE "account_id" = $1 ORDER BY "created_at"`,
        [accountId],
      ),
    );
    expect(runs.map((run) => run.state)).toEqual(['failed', 'succeeded']);
  }, 300_000);

  it('leaves a sync whose database connections were cut open, blames neither folder nor account, and completes it on resume', async () => {
    const user = `cut-${process.pid}@${stack.domain}`;
    const messages = 2_000;
    await addMailUser(stack, user, PASSWORD);
    const corpus = generateCorpus({
      count: messages,
      domain: stack.domain,
      tag: 'cut',
      kinds: ['plain', 'alternative'],
      seed: 5,
    });
    await seedMailbox(stack, user, 'INBOX', writeCorpus(join(fixtures, 'cut'), corpus));
    // A harness of its own, so the connections cut below are this sync's and no other file's.
    const applicationName = `sync-cut-${process.pid}`;
    const cut = await SyncHarness.start({ REDIS_KEY_PREFIX: WORKER_ENV.REDIS_KEY_PREFIX }, applicationName);
    const owner = new pg.Client({ connectionString: cut.config.databaseMigrationUrl });
    await owner.connect();
    try {
      const accountId = (await cut.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
      const stored = async (): Promise<number> => {
        const { rows } = await owner.query<{ count: string }>(
          'SELECT count(*) AS "count" FROM "mail_messages" WHERE "account_id" = $1',
          [accountId],
        );
        return Number(rows[0]?.count ?? 0);
      };

      let settled = false;
      const interrupted = cut.sync(TENANT, accountId).finally(() => (settled = true));
      await eventually(async () => expect(await stored()).toBeGreaterThanOrEqual(300), 60_000, 20);
      // What a PostgreSQL restart or failover does to the worker's connections. A cut that finds
      // them all idle costs the pool only new connections and the sync goes on, so cut until one
      // lands on a statement in flight and the sync stops.
      let cuts = 0;
      while (!settled) {
        const { rowCount } = await owner.query(
          'SELECT pg_terminate_backend("pid") FROM pg_stat_activity WHERE "application_name" = $1',
          [applicationName],
        );
        cuts += rowCount ?? 0;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(cuts).toBeGreaterThan(0);
      // As text, so that a folder failure that got through shows its error.
      expect(JSON.stringify(await interrupted)).toMatch(/^\{"state":"interrupted","reason":/);

      const committed = await stored();
      expect(committed).toBeLessThan(messages);
      const { rows: runs } = await owner.query<{ id: string; state: string }>(
        'SELECT "id", "state" FROM "sync_runs" WHERE "account_id" = $1',
        [accountId],
      );
      expect(runs).toEqual([{ id: expect.any(String) as unknown, state: 'running' }]);
      const { rows: folders } = await owner.query<{ failure_count: number; last_error: string | null }>(
        `SELECT "failure_count", "last_error" FROM "mail_folders" WHERE "account_id" = $1 AND "path" = 'INBOX'`,
        [accountId],
      );
      expect(folders).toEqual([{ failure_count: 0, last_error: null }]);
      expect(await cut.account(TENANT, accountId)).toMatchObject({
        failureCount: 0,
        lastError: null,
        nextSyncAfter: null,
      });

      const resumed = await cut.sync(TENANT, accountId, { syncRunId: runs[0]?.id });
      expect(resumed).toMatchObject({
        state: 'succeeded',
        syncRunId: runs[0]?.id,
        error: null,
        stats: { messagesAdded: messages - committed, foldersFailed: 0 },
      });
      expect(await stored()).toBe(messages);
    } finally {
      await owner.end();
      await cut.close();
    }
  }, 180_000);
});
