import type { MailStack } from '../infra/mail-stack.js';
import type { ApiProcess } from '../support/api-process.js';
import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/test-config.js';
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
  storedCounts,
  syncedExactly,
  syncStatus,
} from './fault-services.js';
import type { SyncStatusDto } from '../../apps/api/src/modules/sync/dto/sync-response.dto.js';
import type { MailUser } from './fault-services.js';

const MESSAGES = 600;
/** Connections that die this many bytes into their first FETCH response. */
const CUT_AFTER_BYTES = 400_000;
const FAULTY_CONNECTIONS = 2;
const FOLDER_BACKOFF_MS = 60_000;

/**
 * Dovecot behind a proxy that closes the first connections in the middle of a large FETCH
 * response: each affected run records the failure with its reason and backs the folder off, the
 * worker lives on, and a later run completes with exactly the seeded set, nothing doubled.
 */
describe('IMAP connection closed mid-FETCH', () => {
  const tenant = faultTenant('imap-cut');
  let stack: MailStack;
  let apps: FaultApps;
  let proxy: FaultProxy;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let user: MailUser;
  let seeded: string[];
  let cutsLeft = FAULTY_CONNECTIONS;

  beforeAll(async () => {
    stack = mailStack();
    [user] = (await newMailUsers(stack, ['imap-cut'])) as [MailUser];
    seeded = await seedInbox(stack, user, MESSAGES, { maxAttachmentBytes: 40_000 });
    // Only connections that get as far as a FETCH count: a login-only session (the folder listing) passes.
    proxy = await new FaultProxy(stack.imapPort, () => ({
      kind: 'cut',
      after: ' FETCH (',
      bytes: CUT_AFTER_BYTES,
    })).start();
    apps = await FaultApps.start();
    ({ api, worker } = apps);
  }, 120_000);

  afterAll(async () => {
    await apps?.stop();
    await proxy?.stop();
  });

  it('fails the affected runs with a reason, backs off, and completes exactly on a later run', async () => {
    const accountId = await createAccount(api, tenant, user, { imapPort: proxy.port, smtpPort: stack.smtpPort });
    const startedAt = Date.now();
    const failedRuns: SyncStatusDto[] = [];
    let runs = 0;
    for (;;) {
      const cutBefore = proxy.connections.filter((connection) => connection.cut).length;
      const runId = await requestSync(api, tenant, accountId);
      runs += 1;
      const status = await eventually(
        async () => {
          const current = await syncStatus(api, tenant, accountId);
          if (current.lastRun?.id !== runId || !['succeeded', 'failed'].includes(current.lastRun.state))
            throw new Error(`run ${runs} not finished: ${JSON.stringify(current.lastRun)}\n${worker.logs}`);
          return current;
        },
        60_000,
        200,
      );
      const cutNow = proxy.connections.filter((connection) => connection.cut).length;
      if (cutNow === cutBefore) break;
      failedRuns.push(status);
      cutsLeft -= cutNow - cutBefore;
      // Once the scripted failures are used up, the proxy passes everything.
      if (cutsLeft <= 0) proxy.setFaults(() => ({ kind: 'pass' }));
      expect(runs).toBeLessThanOrEqual(FAULTY_CONNECTIONS + 1);
    }

    // Each run that lost its connection says so, with the reason, and backs the folder off.
    expect(failedRuns).toHaveLength(FAULTY_CONNECTIONS);
    for (const status of failedRuns) {
      expect(status.lastRun?.error ?? status.lastError?.message ?? '').toMatch(/INBOX/);
      const inbox = status.folders.find((folder) => folder.path === 'INBOX');
      expect(inbox?.lastError).toBeTruthy();
      expect(inbox?.failureCount).toBeGreaterThanOrEqual(1);
      const backoffUntil = Date.parse(status.folders.find((folder) => folder.path === 'INBOX')?.nextSyncAfter ?? '');
      expect(backoffUntil - Date.now()).toBeGreaterThan(FOLDER_BACKOFF_MS / 2);
    }
    const partial = await storedCounts(accountId, seeded);
    expect(partial.rows).toBe(partial.distinctMessageIds);

    const counts = await syncedExactly(api, tenant, accountId, seeded, 60_000, () => worker.logs);
    const seconds = (Date.now() - startedAt) / 1000;
    expect(counts).toEqual(exactlySeeded(MESSAGES));
    const final = await syncStatus(api, tenant, accountId);
    expect(final.folders.find((folder) => folder.path === 'INBOX')).toMatchObject({ lastError: null, failureCount: 0 });
    expect(worker.alive).toBe(true);

    reportFault(
      'IMAP closed mid-FETCH',
      `${FAULTY_CONNECTIONS} connections cut ${CUT_AFTER_BYTES / 1000} KB into a FETCH: ${runs} runs needed (${failedRuns.length} recorded "${failedRuns[0]?.folders.find((folder) => folder.path === 'INBOX')?.lastError ?? ''}" with 1 min folder backoff), ` +
        `${counts.distinctMessageIds}/${MESSAGES} stored, 0 duplicates, ${seconds.toFixed(1)} s, worker alive`,
    );
  }, 180_000);
});
