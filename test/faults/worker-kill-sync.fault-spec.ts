import type { MailStack } from '../infra/mail-stack.js';
import { ApiProcess } from '../support/api-process.js';
import { BackgroundAppProcess } from '../support/background-app-process.js';
import { PrivateRedis } from '../support/private-redis.js';
import { reportFault } from './fault-report.js';
import { eventually } from '../support/test-config.js';
import {
  createAccount,
  exactlySeeded,
  faultTenant,
  mailStack,
  newMailUsers,
  requestSync,
  seedInbox,
  storedRowCount,
  syncedExactly,
  syncStatus,
} from './fault-services.js';
import type { MailUser } from './fault-services.js';

const MESSAGES = 3_000;
const KILLS = 5;
/** A short job lock, so the restarted worker takes the killed one's sync over within seconds (as send-crash.e2e-spec.ts does). */
const WORKER_ENV = { JOB_LOCK_DURATION: '2', JOB_STALLED_INTERVAL: '1' };

/**
 * One large first sync, its worker killed with SIGKILL five times while it stores messages and
 * started again each time: the sync must end with exactly the seeded set, each message once.
 */
describe('worker SIGKILL mid-sync, repeated', () => {
  const tenant = faultTenant('worker-kill-sync');
  let stack: MailStack;
  let redis: PrivateRedis;
  let api: ApiProcess;
  let worker: BackgroundAppProcess | null = null;
  let user: MailUser;
  let seeded: string[];
  const workerLogs: string[] = [];

  const env = (): Record<string, string> => ({ REDIS_URL: redis.url, QUEUE_REDIS_URL: redis.url });
  beforeAll(async () => {
    stack = mailStack();
    [user] = (await newMailUsers(stack, ['killsync'])) as [MailUser];
    seeded = await seedInbox(stack, user, MESSAGES, { maxAttachmentBytes: 20_000 });
    redis = await PrivateRedis.start();
    api = await ApiProcess.start(env());
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await redis?.stop();
  });

  it(`stores exactly the seeded ${MESSAGES} messages after ${KILLS} worker kills`, async () => {
    const accountId = await createAccount(api, tenant, user, { imapPort: stack.imapPort, smtpPort: stack.smtpPort });
    const startedAt = Date.now();
    worker = await BackgroundAppProcess.start('worker', { ...env(), ...WORKER_ENV });
    await requestSync(api, tenant, accountId);

    const killedAt: number[] = [];
    const killedAfter: number[] = [];
    for (let kill = 1; kill <= KILLS; kill += 1) {
      // Spread the kills over the first half of the sync: a resumed worker stores hundreds of rows
      // per batch, so a kill aimed near the end could land after the last one.
      const threshold = Math.floor((MESSAGES * kill) / (2 * KILLS));
      await eventually(
        async () => {
          const rows = await storedRowCount(accountId);
          if (rows < threshold)
            throw new Error(
              `kill ${kill}: ${rows}/${threshold} rows, status ${JSON.stringify(await syncStatus(api, tenant, accountId))}\n${worker?.logs ?? ''}`,
            );
        },
        60_000,
        50,
      );
      await worker.kill();
      workerLogs.push(worker.logs);
      killedAt.push(await storedRowCount(accountId));
      killedAfter.push((Date.now() - startedAt) / 1000);
      worker = await BackgroundAppProcess.start('worker', { ...env(), ...WORKER_ENV });
    }
    // Every kill must have landed before the sync finished, or it proved nothing.
    expect(killedAt.every((rows) => rows < MESSAGES)).toBe(true);

    const counts = await syncedExactly(
      api,
      tenant,
      accountId,
      seeded,
      90_000,
      () => `rows at each kill: ${killedAt.join(', ')}\n${worker?.logs ?? ''}`,
    );
    const seconds = (Date.now() - startedAt) / 1000;
    expect(counts).toEqual(exactlySeeded(MESSAGES));
    expect(worker.alive).toBe(true);

    reportFault(
      'worker SIGKILL mid-sync x5',
      `sync ${counts.distinctMessageIds}/${MESSAGES} after ${KILLS} worker kills (at ${killedAt.join('/')} rows, ${killedAfter.map((seconds) => seconds.toFixed(0)).join('/')} s), 0 duplicates by Message-ID or UID, complete in ${seconds.toFixed(1)} s`,
    );
  }, 180_000);
});
