import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { seedMailbox } from '../infra/mail-stack.js';
import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { eventually } from '../support/test-config.js';
import { stopProcess } from '../support/worker-process.js';
import { reportFault } from './fault-report.js';
import { SendFaultStack } from './support/send-fault-stack.js';

const SENDS = 100;
const ACTIONS = 5;
/** Short, so the case waits seconds for reconciliation; production's default is 60. */
const RECONCILE_SECONDS = 3;

/**
 * The queue's Redis loses everything (restart without persistence, failover to a lagging replica)
 * while sends, a sync and message actions wait in it and no worker runs. PostgreSQL still has them
 * all; the scheduler's reconciliation must enqueue them again so that every send is delivered once,
 * the sync run completes and the actions reach the IMAP server.
 */
describe('fault: queue Redis flushed with work in flight', () => {
  let stack: SendFaultStack;
  let fixtures: string;
  let worker: ChildProcess | null = null;
  let scheduler: BackgroundAppProcess | null = null;

  beforeAll(async () => {
    stack = await SendFaultStack.start('flush');
    fixtures = mkdtempSync(join(tmpdir(), 'flush-fault-'));
    const files = Array.from({ length: ACTIONS }, (_, index) => {
      const file = join(fixtures, `${index}.eml`);
      writeFileSync(
        file,
        [
          `From: <a@example.com>`,
          `To: <${stack.sender}>`,
          `Subject: unread ${index}`,
          `Message-ID: <flush-${index}-${randomUUID()}@example.com>`,
          '',
          'body',
          '',
        ].join('\r\n'),
      );
      return file;
    });
    await seedMailbox(stack.mail, stack.sender, 'INBOX', files);
    // A first sync, so the messages the actions change are known.
    worker = stack.startWorker();
    const run = await stack.api.inject({
      method: 'POST',
      url: `/api/sync/imap/${stack.accountId}`,
      headers: stack.auth,
    });
    const runId = run.json<{ syncRunId: string }>().syncRunId;
    await eventually(
      async () =>
        expect(
          (await stack.database.query<{ state: string }>('SELECT state FROM sync_runs WHERE id = $1', [runId]))[0]
            ?.state,
        ).toBe('succeeded'),
      60_000,
      300,
    );
    await stopProcess(worker);
    worker = null;
  }, 120_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    await scheduler?.stop();
    await stack?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('delivers every send once, completes the sync and applies the actions after the flush', async () => {
    const records = await stack.compose(SENDS, 'flushed');
    const sync = await stack.api.inject({
      method: 'POST',
      url: `/api/sync/imap/${stack.accountId}`,
      headers: stack.auth,
    });
    expect(sync.statusCode).toBe(202);
    const syncRunId = sync.json<{ syncRunId: string }>().syncRunId;
    const messages = await stack.database.query<{ id: string }>(
      `SELECT id FROM mail_messages WHERE tenant_id = $1 ORDER BY uid`,
      [stack.tenant],
    );
    expect(messages).toHaveLength(ACTIONS);
    for (const message of messages) {
      const acted = await stack.api.inject({
        method: 'PATCH',
        url: `/api/messages/${message.id}`,
        headers: stack.auth,
        payload: { seen: true },
      });
      expect(acted.statusCode).toBe(202);
    }

    await stack.redis.flushAll();
    const flushedAt = Date.now();
    worker = stack.startWorker({ JOB_LOCK_DURATION: '5', JOB_STALLED_INTERVAL: '2', SMTP_TIMEOUT: '10' });
    scheduler = await stack.startScheduler({ RECONCILE_SECONDS: String(RECONCILE_SECONDS), LOG_LEVEL: 'WARNING' });

    await eventually(async () => expect(await stack.sentCount()).toBe(SENDS), 120_000, 500);
    const expected = new Set(records.map((record) => record.messageId));
    const copies = await eventually(
      async () => {
        const delivered = await stack.delivered();
        expect([...expected].filter((messageId) => !delivered.has(messageId))).toEqual([]);
        return delivered;
      },
      30_000,
      500,
    );
    const seconds = Math.round((Date.now() - flushedAt) / 1000);
    // Late duplicates would land within a second or two of the rest.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const settled = await stack.delivered();
    const twice = [...settled.entries()].filter(([messageId, count]) => expected.has(messageId) && count > 1).length;
    expect(twice).toBe(0);
    expect(settled.size).toBe(copies.size);

    await eventually(
      async () =>
        expect(
          (
            await stack.database.query<{ state: string; error: string | null }>(
              'SELECT state, error FROM sync_runs WHERE id = $1',
              [syncRunId],
            )
          )[0],
        ).toMatchObject({ state: 'succeeded' }),
      60_000,
      500,
    );
    await eventually(
      async () =>
        expect(
          await stack.database.query<{ state: string }>(`SELECT state FROM mail_message_actions WHERE tenant_id = $1`, [
            stack.tenant,
          ]),
        ).toEqual(Array.from({ length: ACTIONS }, () => ({ state: 'applied' }))),
      60_000,
      500,
    );
    expect(scheduler.logs).toMatch(/Re-enqueued or settled records whose queue job was lost/);

    reportFault(
      'queue Redis flushed',
      `sends ${SENDS}/${SENDS} delivered after flush in ${seconds} s, ${twice} twice; sync completed; actions ${ACTIONS}/${ACTIONS} applied`,
    );
  }, 240_000);
});
