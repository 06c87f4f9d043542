import type { ChildProcess } from 'node:child_process';

import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { eventually } from '../support/test-config.js';
import { stopProcess } from '../support/worker-process.js';
import { reportFault } from './fault-report.js';
import { SendFaultStack } from './support/send-fault-stack.js';

/** Short, so the case waits seconds for reconciliation; production's default is 60. */
const RECONCILE_SECONDS = 2;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Scheduled {
  id: string;
  messageId: string;
  sendAt: string;
}

/**
 * Scheduled sends live in PostgreSQL, not only as delayed jobs: one that fell due while no worker
 * ran goes out once when a worker is back, whether its delayed job survived in Redis or the queue's
 * Redis lost everything meanwhile (then the scheduler's reconciliation enqueues it again, and one
 * not yet due again with the delay it has left).
 */
describe('fault: scheduled sends across a worker outage', () => {
  let stack: SendFaultStack;
  let worker: ChildProcess | null = null;
  let scheduler: BackgroundAppProcess | null = null;

  const schedule = async (delayMs: number, subject: string): Promise<Scheduled> => {
    const response = await stack.api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: stack.auth,
      payload: {
        accountId: stack.accountId,
        to: [stack.recipient],
        subject,
        text: 'scheduled across an outage',
        sendAt: new Date(Date.now() + delayMs).toISOString(),
      },
    });
    expect(response.statusCode).toBe(202);
    return response.json<Scheduled>();
  };

  const record = async (id: string): Promise<{ state: string; attempts: number; sent_at: Date | null }> => {
    const [row] = await stack.database.query<{ state: string; attempts: number; sent_at: Date | null }>(
      'SELECT state, attempts, sent_at FROM send_records WHERE id = $1',
      [id],
    );
    if (!row) throw new Error(`no send record ${id}`);
    return row;
  };

  const deliveredOnce = async (sends: Scheduled[]): Promise<Map<string, number>> => {
    await eventually(
      async () => {
        const copies = await stack.delivered();
        expect(sends.filter((send) => !copies.has(send.messageId)).map((send) => send.id)).toEqual([]);
      },
      30_000,
      500,
    );
    // A second copy would land within a second or two of the first.
    await sleep(2_000);
    return stack.delivered();
  };

  beforeAll(async () => {
    stack = await SendFaultStack.start('scheduled');
  }, 120_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    await scheduler?.stop();
    await stack?.stop();
  });

  it('sends a scheduled message once when the worker returns after its time, its delayed job kept', async () => {
    worker = stack.startWorker();
    const send = await schedule(2_000, 'due while the worker was down');
    await sleep(500);
    await stopProcess(worker, 'SIGKILL');
    worker = null;
    await sleep(3_000);
    expect(await record(send.id)).toMatchObject({ state: 'queued', attempts: 0 });

    const restartedAt = Date.now();
    worker = stack.startWorker({ JOB_LOCK_DURATION: '5', JOB_STALLED_INTERVAL: '2' });
    const copies = await deliveredOnce([send]);
    expect(copies.get(send.messageId)).toBe(1);
    expect(await record(send.id)).toMatchObject({ state: 'sent', attempts: 1 });

    reportFault(
      'scheduled send, worker down at its time',
      `delivered once ${Math.round((Date.now() - restartedAt) / 1000)} s after the worker came back`,
    );
    await stopProcess(worker);
    worker = null;
  }, 90_000);

  it('sends a due and a later scheduled message once each after the queue Redis was flushed meanwhile', async () => {
    const due = await schedule(1_500, 'due, its job flushed');
    const later = await schedule(20_000, 'later, its job flushed');
    await sleep(3_000);
    await stack.redis.flushAll();
    expect(await record(due.id)).toMatchObject({ state: 'queued', attempts: 0 });

    const restartedAt = Date.now();
    worker = stack.startWorker({ JOB_LOCK_DURATION: '5', JOB_STALLED_INTERVAL: '2' });
    scheduler = await stack.startScheduler({ RECONCILE_SECONDS: String(RECONCILE_SECONDS), LOG_LEVEL: 'WARNING' });

    const dueCopies = await deliveredOnce([due]);
    const dueSeconds = Math.round((Date.now() - restartedAt) / 1000);
    expect(dueCopies.get(due.messageId)).toBe(1);
    // Enqueued again with the delay it had left: still held.
    expect(dueCopies.has(later.messageId)).toBe(false);
    expect(await record(later.id)).toMatchObject({ state: 'queued', attempts: 0 });

    const laterCopies = await deliveredOnce([later]);
    expect(laterCopies.get(later.messageId)).toBe(1);
    expect(laterCopies.get(due.messageId)).toBe(1);
    const laterSent = await record(later.id);
    expect(laterSent).toMatchObject({ state: 'sent', attempts: 1 });
    expect(laterSent.sent_at?.getTime()).toBeGreaterThanOrEqual(new Date(later.sendAt).getTime());
    expect(scheduler.logs).toMatch(/Re-enqueued or settled records whose queue job was lost/);

    reportFault(
      'scheduled sends, queue Redis flushed',
      `the due one delivered once within ${dueSeconds} s of the restart; the later one once, not before its time`,
    );
  }, 90_000);
});
