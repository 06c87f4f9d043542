import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BulkActionRepository } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import pg from 'pg';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { imapAs } from '../../../test/support/mailbox.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';
import { eventually } from '../../../test/support/test-config.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';

const TENANT = `bulk-resume-${process.pid}`;
const PASSWORD = 'secret-bulk';
const MESSAGES = 4_000;
/** Queues of this file's own, and a dead worker's job handed over after 6 s (see sync-resume). */
const WORKER_ENV = {
  REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:bulk-resume`,
  JOB_LOCK_DURATION: '6',
  JOB_STALLED_INTERVAL: '2',
};

describe('bulk actions: a worker killed mid-way resumes with the members still pending', () => {
  let stack: MailStack;
  let harness: SyncHarness;
  let fixtures: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'bulk-resume-'));
    harness = await SyncHarness.start({ REDIS_KEY_PREFIX: WORKER_ENV.REDIS_KEY_PREFIX });
  });

  afterAll(async () => {
    for (const worker of workers) await stopProcess(worker, 'SIGKILL');
    await harness?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it(`marks ${MESSAGES} messages read across a SIGKILL: every one once, counted once, one STORE per batch`, async () => {
    const user = `bulk-resume-${process.pid}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    const corpus = generateCorpus({ count: MESSAGES, domain: stack.domain, tag: 'bulk-resume', kinds: ['plain'] });
    await seedMailbox(stack, user, 'INBOX', writeCorpus(fixtures, corpus));
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    await harness.sync(TENANT, accountId);

    const bulk = await harness.asTenant(TENANT, () =>
      harness.app.get(BulkActionRepository).create({
        accountId,
        action: 'seen',
        selection: { filter: { kind: 'folder', value: 'INBOX' } },
        maxMessages: 10_000,
      }),
    );
    expect(bulk).toMatchObject({ state: 'queued', total: MESSAGES, done: 0 });
    const job = await harness.app
      .get(JobProducer)
      .enqueue(JobName.ApplyBulkAction, { tenantId: TENANT, accountId, bulkActionId: bulk.id });
    const progress = async (): Promise<{ state: string; done: number; failed: number; applied: number }> =>
      harness.query(TENANT, async (manager) => {
        const [row] = await manager.query<{ state: string; done: number; failed: number; applied: number }[]>(
          `SELECT b.state, b.done, b.failed,
                  (SELECT count(*)::int FROM mail_message_actions a WHERE a.bulk_action_id = b.id AND a.state = 'applied') AS applied
           FROM bulk_actions b WHERE b.id = $1`,
          [bulk.id],
        );
        if (!row) throw new Error('bulk action gone');
        return row;
      });

    // Batches go by UID: the first (UIDs 1-1000) settles, the second is sent to the server and then
    // waits for these rows to settle its members, so the kill lands mid-way however fast the worker is.
    const holder = new pg.Client({ connectionString: harness.config.databaseMigrationUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM mail_message_actions WHERE bulk_action_id = $1 AND (origin->>'uid')::bigint > 1000 FOR UPDATE`,
        [bulk.id],
      );
      const first = startWorkerProcess(WORKER_ENV);
      workers.push(first);
      await eventually(async () => expect((await progress()).done).toBe(1_000), 120_000, 20);
      await eventually(
        async () => {
          const { rows } = await holder.query<{ waiting: number }>(
            'SELECT count(*)::int AS "waiting" FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))',
          );
          expect(rows[0]?.waiting).toBeGreaterThan(0);
        },
        60_000,
        20,
      );
      await stopProcess(first, 'SIGKILL');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    // A COMMIT the worker sent just before it died may still be applied by its backend.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const cut = await progress();
    expect(cut.state).toBe('running');
    expect(cut.done).toBe(1_000);
    // Counts and members settle in one transaction.
    expect(cut.done).toBe(cut.applied);

    const second = startWorkerProcess(WORKER_ENV);
    workers.push(second);
    await eventually(async () => expect(await job.getState()).toBe('completed'), 120_000, 250);
    expect(await progress()).toEqual({ state: 'completed', done: MESSAGES, failed: 0, applied: MESSAGES });

    const client = await imapAs(stack.imapPort, user, PASSWORD);
    try {
      const lock = await client.getMailboxLock('INBOX', { readOnly: true });
      try {
        expect(await client.search({ seen: false }, { uid: true })).toEqual([]);
        const modseqs = new Set<bigint | undefined>();
        for await (const message of client.fetch('1:*', { uid: true, flags: true })) modseqs.add(message.modseq);
        // One STORE per batch of 1,000: a batch sent again after the kill changes nothing, so no new modseq.
        expect(modseqs.size).toBe(MESSAGES / 1_000);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
  }, 300_000);
});
