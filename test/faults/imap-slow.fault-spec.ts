import type { MailStack } from '../infra/mail-stack.js';
import type { ApiProcess } from '../support/api-process.js';
import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { reportFault } from './fault-report.js';
import { FaultApps } from './support/fault-apps.js';
import {
  createAccount,
  exactlySeeded,
  faultTenant,
  mailStack,
  newMailUsers,
  requestSync,
  seedInbox,
  syncedExactly,
  syncStatus,
} from './fault-services.js';
import type { MailUser } from './fault-services.js';

const MESSAGES = 300;
const IMAP_TIMEOUT_SECONDS = 5;
const CHUNK_DELAY_MS = 40;
/** Every 25th chunk waits this long: slow, but within IMAP_TIMEOUT. */
const LONG_DELAY_MS = 2_500;

/**
 * Dovecot behind a proxy that holds every chunk of its answers back, some for half of
 * IMAP_TIMEOUT: the first sync is slow but completes in one run, exactly, without an error.
 */
describe('IMAP server answering slowly', () => {
  const tenant = faultTenant('imap-slow');
  let stack: MailStack;
  let apps: FaultApps;
  let proxy: FaultProxy;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let user: MailUser;
  let seeded: string[];

  beforeAll(async () => {
    stack = mailStack();
    [user] = (await newMailUsers(stack, ['imap-slow'])) as [MailUser];
    seeded = await seedInbox(stack, user, MESSAGES, { maxAttachmentBytes: 20_000 });
    proxy = await new FaultProxy(stack.imapPort, () => ({
      kind: 'delay',
      delayMs: CHUNK_DELAY_MS,
      longEvery: 25,
      longDelayMs: LONG_DELAY_MS,
    })).start();
    apps = await FaultApps.start({ IMAP_TIMEOUT: String(IMAP_TIMEOUT_SECONDS) });
    ({ api, worker } = apps);
  }, 120_000);

  afterAll(async () => {
    await apps?.stop();
    await proxy?.stop();
  });

  it('completes the sync in one run within IMAP_TIMEOUT', async () => {
    const accountId = await createAccount(api, tenant, user, { imapPort: proxy.port, smtpPort: stack.smtpPort });
    const startedAt = Date.now();
    const runId = await requestSync(api, tenant, accountId);
    const counts = await syncedExactly(api, tenant, accountId, seeded, 120_000, () => worker.logs);
    const seconds = (Date.now() - startedAt) / 1000;

    expect(counts).toEqual(exactlySeeded(MESSAGES));
    const status = await syncStatus(api, tenant, accountId);
    expect(status.lastRun).toMatchObject({ id: runId, state: 'succeeded', error: null });
    expect(status.folders.filter((folder) => folder.lastError !== null)).toEqual([]);
    expect(worker.alive).toBe(true);
    const delayedChunks = proxy.connections.reduce((total, connection) => total + connection.bytesToClient, 0);

    reportFault(
      'IMAP slow server',
      `every chunk +${CHUNK_DELAY_MS} ms, every 25th +${LONG_DELAY_MS / 1000} s (IMAP_TIMEOUT ${IMAP_TIMEOUT_SECONDS} s): 1 run, ${counts.distinctMessageIds}/${MESSAGES} stored, 0 duplicates, ` +
        `${seconds.toFixed(1)} s for ${(delayedChunks / 1e6).toFixed(1)} MB over ${proxy.connections.length} connection(s), no error recorded`,
    );
  }, 180_000);
});
