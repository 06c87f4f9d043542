import type { ChildProcess } from 'node:child_process';

import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { eventually } from '../support/test-config.js';
import { stopProcess } from '../support/worker-process.js';
import { reportFault } from './fault-report.js';
import { SendFaultStack } from './support/send-fault-stack.js';

const SENDS = 300;
const KILLS = 5;
const SEND_CONCURRENCY = 5;
/**
 * Short locks so a killed worker's jobs are taken over within seconds: the send claim then lasts
 * JOB_LOCK_DURATION + 3 × SMTP_TIMEOUT = 17 s (sendClaimTiming).
 */
const WORKER_ENV = {
  JOB_LOCK_DURATION: '2',
  JOB_STALLED_INTERVAL: '1',
  SMTP_TIMEOUT: '5',
  SEND_CONCURRENCY: String(SEND_CONCURRENCY),
};
/**
 * A kill can catch at most the attempts in flight between the server's 250 and the write that
 * records it: each of those is sent again by the job that takes over, so one kill costs at most
 * SEND_CONCURRENCY duplicates.
 */
const MAX_DUPLICATES = KILLS * SEND_CONCURRENCY;

/**
 * The worker is SIGKILLed in the middle of sending, five times, and started again each time. No
 * send may be lost; a message the server accepted just before the kill may go twice, always with
 * the record's own Message-ID, so receivers that deduplicate by Message-ID see it once.
 */
describe('fault: worker killed mid-send, again and again', () => {
  let stack: SendFaultStack;
  let worker: ChildProcess | null = null;
  let scheduler: BackgroundAppProcess | null = null;

  beforeAll(async () => {
    stack = await SendFaultStack.start('kill');
    scheduler = await stack.startScheduler({ RECONCILE_SECONDS: '5' });
  }, 120_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    await scheduler?.stop();
    await stack?.stop();
  });

  it('delivers every send, none lost, duplicates bounded and under the same Message-ID', async () => {
    const records = await stack.compose(SENDS, 'killed');
    const startedAt = Date.now();
    worker = stack.startWorker(WORKER_ENV);
    const killedAt: number[] = [];
    for (let kill = 1; kill <= KILLS; kill += 1) {
      const threshold = Math.round((SENDS * kill) / (KILLS + 1));
      await eventually(async () => expect(await stack.sentCount()).toBeGreaterThanOrEqual(threshold), 120_000, 50);
      await stopProcess(worker, 'SIGKILL');
      killedAt.push(await stack.sentCount());
      worker = stack.startWorker(WORKER_ENV);
    }

    await eventually(async () => expect(await stack.sentCount()).toBe(SENDS), 150_000, 500);
    const expected = new Set(records.map((record) => record.messageId));
    await eventually(
      async () => {
        const delivered = await stack.delivered();
        expect([...expected].filter((messageId) => !delivered.has(messageId))).toEqual([]);
      },
      30_000,
      500,
    );
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const delivered = await stack.delivered();
    // Every copy in the mailbox carries the Message-ID of one of the sends: a duplicate is the same message again.
    expect([...delivered.keys()].filter((messageId) => !expected.has(messageId))).toEqual([]);
    const duplicates = [...delivered.values()].reduce((sum, count) => sum + count - 1, 0);
    const failed = await stack.database.query<{ count: string }>(
      `SELECT count(*) FROM send_records WHERE tenant_id = $1 AND state <> 'sent'`,
      [stack.tenant],
    );
    expect(failed[0]?.count).toBe('0');
    expect(duplicates).toBeLessThanOrEqual(MAX_DUPLICATES);

    reportFault(
      'worker SIGKILL mid-send ×5',
      `sends ${delivered.size}/${SENDS} delivered in ${seconds} s after kills at ${killedAt.join(', ')} sent, 0 lost, ${duplicates} delivered twice (same Message-ID; bound ${MAX_DUPLICATES})`,
    );
  }, 300_000);
});
