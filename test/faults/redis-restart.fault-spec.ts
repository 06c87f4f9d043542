import type { MailStack } from '../infra/mail-stack.js';
import { ApiProcess } from '../support/api-process.js';
import type { ApiResponse } from '../support/api-process.js';
import { BackgroundAppProcess } from '../support/background-app-process.js';
import { PrivateRedis } from '../support/private-redis.js';
import { ScriptedSmtpServer } from '../support/scripted-smtp-server.js';
import { eventually } from '../support/test-config.js';
import { reportFault } from './fault-report.js';
import {
  compose,
  createAccount,
  exactlySeeded,
  faultTenant,
  mailStack,
  newMailUsers,
  percentile,
  requestSync,
  seedInbox,
  settledSends,
  sleep,
  storedRowCount,
  syncedExactly,
} from './fault-services.js';
import type { MailUser } from './fault-services.js';

const MESSAGES = 2_000;
const SENDS_BEFORE = 20;
const DOWN_MS = 10_000;
/** A request that takes longer than this while Redis is down counts as hanging. */
const FAST_MS = 5_000;
/** Requests are abandoned (status 0) after this, so a hanging one cannot stall the case. */
const ABANDON_MS = 10_000;
/** Once Redis is back, the sends accepted while it was down must all be delivered within this. */
const DELIVERY_AFTER_RESTART_BOUND_MS = 30_000;
const WORKER_ENV = { JOB_LOCK_DURATION: '3', JOB_STALLED_INTERVAL: '2' };
/** Reconciliation queues the sends whose job could not be queued while Redis was down. */
const SCHEDULER_ENV = { RECONCILE_SECONDS: '2' };

interface Timed {
  route: string;
  status: number;
  ms: number;
  body: string;
}

async function timed(route: string, request: () => Promise<ApiResponse>): Promise<Timed> {
  const startedAt = Date.now();
  try {
    const response = await request();
    return { route, status: response.statusCode, ms: Date.now() - startedAt, body: response.body };
  } catch (error: unknown) {
    return { route, status: 0, ms: Date.now() - startedAt, body: String(error) };
  }
}

/**
 * The apps' only Redis (cache and queues, persistent like a Redis with AOF) is killed while a
 * first sync runs and sends are in flight, and started again on the same port: health says which
 * dependency is down, no request hangs, sends are still accepted (stored, their jobs queued by
 * reconciliation later), and afterwards the sync holds exactly the seeded set and every accepted
 * send went out exactly once.
 */
describe('Redis killed and restarted under load', () => {
  const tenant = faultTenant('redis-restart');
  let stack: MailStack;
  let redis: PrivateRedis;
  let smtp: ScriptedSmtpServer;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let scheduler: BackgroundAppProcess;
  let syncUser: MailUser;
  let sender: MailUser;
  let seeded: string[];

  beforeAll(async () => {
    stack = mailStack();
    [syncUser, sender] = (await newMailUsers(stack, ['redis-sync', 'redis-send'])) as [MailUser, MailUser];
    seeded = await seedInbox(stack, syncUser, MESSAGES, { maxAttachmentBytes: 20_000 });
    smtp = await new ScriptedSmtpServer().start();
    redis = await PrivateRedis.start({ persistent: true });
    const env = { REDIS_URL: redis.url, QUEUE_REDIS_URL: redis.url };
    api = await ApiProcess.start(env);
    worker = await BackgroundAppProcess.start('worker', { ...env, ...WORKER_ENV });
    scheduler = await BackgroundAppProcess.start('scheduler', { ...env, ...SCHEDULER_ENV });
  }, 120_000);

  afterAll(async () => {
    await scheduler?.stop();
    await worker?.stop();
    await api?.stop();
    await smtp?.stop();
    await redis?.stop();
  });

  it('reports redis down, answers fast, and resumes the sync and the sends exactly once', async () => {
    const syncAccount = await createAccount(api, tenant, syncUser, { imapPort: stack.imapPort, smtpPort: smtp.port });
    const sendAccount = await createAccount(api, tenant, sender, { imapPort: stack.imapPort, smtpPort: smtp.port });
    await requestSync(api, tenant, syncAccount);
    await eventually(
      async () => {
        const rows = await storedRowCount(syncAccount);
        if (rows < MESSAGES / 5) throw new Error(`sync has stored ${rows} rows`);
      },
      60_000,
      50,
    );

    const accepted: string[] = [];
    const sendsBefore = await Promise.all(
      Array.from({ length: SENDS_BEFORE }, (_, index) =>
        compose(api, tenant, sendAccount, `redis-${index}@remote.test`, `before ${index}`),
      ),
    );
    for (const response of sendsBefore) {
      expect(response.statusCode).toBe(202);
      accepted.push(response.json<{ id: string }>().id);
    }

    await redis.kill();
    const downAt = Date.now();
    const during: Timed[] = [];
    let composeIndex = 0;
    const acceptedWhileDown: string[] = [];
    while (Date.now() - downAt < DOWN_MS) {
      const round = await Promise.all([
        timed('GET /health', () => api.inject({ url: '/health', timeoutMs: ABANDON_MS })),
        timed('GET /api/messages', () =>
          api.inject({
            url: `/api/messages?accountId=${syncAccount}&limit=20`,
            headers: tenant.headers,
            timeoutMs: ABANDON_MS,
          }),
        ),
        timed('GET /api/sync/status', () =>
          api.inject({ url: `/api/sync/status/${syncAccount}`, headers: tenant.headers, timeoutMs: ABANDON_MS }),
        ),
        timed('POST /api/sync', () =>
          api.inject({
            method: 'POST',
            url: `/api/sync/imap/${syncAccount}`,
            headers: tenant.headers,
            timeoutMs: ABANDON_MS,
          }),
        ),
        timed('POST /api/compose', () =>
          compose(api, tenant, sendAccount, `redis-down-${composeIndex}@remote.test`, `during ${composeIndex}`, {
            timeoutMs: ABANDON_MS,
            idempotencyKey: `${tenant.id}-during-${composeIndex}`,
          }),
        ),
      ]);
      during.push(...round);
      for (const result of round) {
        if (result.route !== 'POST /api/compose') continue;
        // The send is stored before its job is queued: it is accepted, and goes out once Redis is back.
        expect(result.status).toBe(202);
        acceptedWhileDown.push((JSON.parse(result.body) as { id: string }).id);
      }
      composeIndex += 1;
      await sleep(250);
    }
    await redis.restart();
    const upAt = Date.now();
    const recoveredAfterMs = await eventually(
      async () => {
        const health = await api.inject({ url: '/health' });
        if (health.statusCode !== 200) throw new Error(`health ${health.statusCode}: ${health.body}`);
        return Date.now() - upAt;
      },
      30_000,
      100,
    );

    // While down: health is 503 and names redis; nothing hangs, errors are JSON without internals.
    const health = during.filter((result) => result.route === 'GET /health');
    expect(health.length).toBeGreaterThan(0);
    for (const result of health) {
      expect(result.status).toBe(503);
      expect(JSON.parse(result.body)).toMatchObject({ status: 'unhealthy', checks: { redis: { status: 'down' } } });
    }
    const slow = during.filter((result) => result.ms > FAST_MS);
    expect(slow.map(({ route, ms, status }) => ({ route, ms, status }))).toEqual([]);
    for (const result of during) {
      expect([200, 202, 503]).toContain(result.status);
      const body = JSON.parse(result.body) as Record<string, unknown>;
      if (result.status === 503 && result.route !== 'GET /health')
        expect(body).toMatchObject({
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.any(String) as unknown,
        });
      expect(result.body).not.toMatch(/\bat .*\.js:\d+|ECONNREFUSED|ioredis/);
    }

    accepted.push(...acceptedWhileDown);
    expect(acceptedWhileDown.length).toBeGreaterThan(0);
    expect(new Set(accepted).size).toBe(accepted.length);

    // Sends first: waiting for the sync before them would time the sync's resume, not the sends'.
    const records = await settledSends(api, tenant, accepted, 60_000, () => worker.logs);
    expect(records.filter((record) => record.state !== 'sent')).toEqual([]);
    const deliveredAfterMs = Date.now() - upAt;
    expect(deliveredAfterMs).toBeLessThan(DELIVERY_AFTER_RESTART_BOUND_MS);

    const counts = await syncedExactly(api, tenant, syncAccount, seeded, 120_000, () => worker.logs);
    expect(counts).toEqual(exactlySeeded(MESSAGES));
    const deliveries = smtp.countsByMessageId();
    expect(records.map((record) => deliveries.get(record.messageId) ?? 0)).toEqual(records.map(() => 1));
    expect(smtp.received).toHaveLength(accepted.length);
    expect(worker.alive).toBe(true);

    const byRoute = (route: string): string => {
      const results = during.filter((result) => result.route === route);
      const statuses = [...new Set(results.map((result) => result.status))].join('/');
      return `${route} ${statuses} p99 ${percentile(
        results.map((result) => result.ms),
        99,
      )} ms`;
    };
    reportFault(
      'Redis killed and restarted',
      `down ${(DOWN_MS / 1000).toFixed(0)} s: ${['GET /health', 'GET /api/messages', 'GET /api/sync/status', 'POST /api/sync', 'POST /api/compose'].map(byRoute).join(', ')}; ` +
        `healthy ${recoveredAfterMs} ms after restart; sync ${counts.distinctMessageIds}/${MESSAGES}, 0 duplicates; sends ${records.length}/${accepted.length} sent (${acceptedWhileDown.length} accepted while down, queued by reconciliation) within ${deliveredAfterMs} ms of the restart, ${smtp.received.length} SMTP deliveries`,
    );
  }, 240_000);
});
