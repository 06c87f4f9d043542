import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { ImapFetchCounter } from '../../../test/support/imap-fetch-counter.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { eventually } from '../../../test/support/test-config.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import type { SyncAcceptedDto, SyncStatusDto } from '../../api/src/modules/sync/dto/sync-response.dto.js';

const MESSAGES = 10_000;
const PASSWORD = 'progressive password';
/**
 * Queues of this file's own, and a dead worker's job and lease handed over after 6 s, as in
 * sync-resume.integration-spec.ts (which explains the numbers).
 */
const QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:sync-progressive` };
const WORKER_ENV = { ...QUEUES, JOB_LOCK_DURATION: '6', JOB_STALLED_INTERVAL: '2' };

interface Page {
  items: { messageId: string | null; receivedAt: string }[];
}

describe('Progressive sync: the newest mail first, resumed without fetching a stored range again', () => {
  const tenant = `progressive-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  let stack: MailStack;
  let api: ApiProcess;
  let counter: ImapFetchCounter;
  let owner: pg.Client;
  let fixtures: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'sync-progressive-'));
    counter = await new ImapFetchCounter(stack.host, stack.imapPort).start();
    owner = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
    await owner.connect();
    api = await ApiProcess.start(QUEUES);
  });

  afterAll(async () => {
    for (const worker of workers) await stopProcess(worker, 'SIGKILL');
    await api?.stop();
    await owner?.end();
    await counter?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it(`lists the newest page of a ${MESSAGES}-message INBOX mid-sync, and a worker killed at ~30 % resumes with only what it had not stored`, async () => {
    const email = `progressive-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, PASSWORD);
    // Dates grow with the index, and seeding keeps the order: the newest mail has the highest UIDs.
    // Text only: attachments would only make seeding and fetching slower, not the test stricter.
    const corpus = generateCorpus({
      count: MESSAGES,
      domain: stack.domain,
      tag: 'progressive',
      kinds: ['plain', 'alternative', 'html', 'koi8'],
      replyRatio: 0.2,
    });
    await seedMailbox(stack, email, 'INBOX', writeCorpus(fixtures, corpus));
    const created = await api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: auth,
      payload: {
        email,
        password: PASSWORD,
        imap: { host: stack.host, port: counter.port, security: 'none' },
        smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
      },
    });
    expect(created.statusCode).toBe(201);
    const accountId = created.json<{ id: string }>().id;
    const storedUids = async (): Promise<number[]> =>
      (
        await owner.query<{ uid: string }>(`SELECT "uid" FROM "mail_messages" WHERE "account_id" = $1 ORDER BY "uid"`, [
          accountId,
        ])
      ).rows.map((row) => Number(row.uid));
    const stored = async (): Promise<number> =>
      Number(
        (
          await owner.query<{ count: string }>(`SELECT count(*) FROM "mail_messages" WHERE "account_id" = $1`, [
            accountId,
          ])
        ).rows[0]?.count,
      );
    const status = async (): Promise<SyncStatusDto> =>
      (await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth })).json<SyncStatusDto>();
    counter.take();

    const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
    expect(requested.statusCode).toBe(202);
    const { syncRunId } = requested.json<SyncAcceptedDto>();
    const first = startWorkerProcess(WORKER_ENV);
    workers.push(first);

    const newest = await eventually(
      async () => {
        const response = await api.inject({
          url: `/api/messages?accountId=${accountId}&folder=INBOX&limit=50`,
          headers: auth,
        });
        const page = response.json<Page>();
        expect(page.items).toHaveLength(50);
        return page;
      },
      60_000,
      25,
    );
    const storedThen = await stored();
    const inboxThen = (await status()).folders.find((folder) => folder.path === 'INBOX');
    // Mid-sync: the newest page is there, in order, while most of INBOX is not.
    expect(storedThen).toBeLessThan(MESSAGES / 2);
    expect(newest.items.map((item) => item.messageId)).toEqual(
      corpus
        .slice(-50)
        .reverse()
        .map((message) => message.expect.messageId),
    );
    expect(inboxThen).toMatchObject({ total: MESSAGES, newestComplete: true });
    expect(inboxThen?.synced).toBeLessThan(MESSAGES);

    await eventually(async () => expect(await stored()).toBeGreaterThanOrEqual(MESSAGES * 0.3), 120_000, 20);
    await stopProcess(first, 'SIGKILL');
    // A COMMIT the worker sent just before it died may still be applied by its backend.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const beforeKill = await storedUids();
    const fetchedBeforeKill = counter.take();
    expect(beforeKill.length).toBeLessThan(MESSAGES);
    const { rows: ranges } = await owner.query<{ stored_uids: string }>(
      `SELECT "stored_uids"::text FROM "mail_folders" WHERE "account_id" = $1 AND "path" = 'INBOX'`,
      [accountId],
    );
    // Newest first: the rows stored are one range at the top, and the folder's ranges say so.
    expect(beforeKill[0]).toBe(MESSAGES - beforeKill.length + 1);
    expect(ranges[0]?.stored_uids).toBe(`{[${MESSAGES - beforeKill.length + 1},${MESSAGES + 1})}`);
    expect(new Set(fetchedBeforeKill).size).toBe(fetchedBeforeKill.length);

    const second = startWorkerProcess(WORKER_ENV);
    workers.push(second);
    const finished = await eventually(
      async () => {
        const current = await status();
        expect(current.lastRun).toMatchObject({ id: syncRunId, state: 'succeeded' });
        return current;
      },
      120_000,
      250,
    );

    const resumedFetches = counter.take();
    const storedBefore = new Set(beforeKill);
    // The resumed run downloaded each missing message once and nothing stored before the kill.
    expect(resumedFetches.filter((uid) => storedBefore.has(uid))).toEqual([]);
    expect(new Set(resumedFetches).size).toBe(resumedFetches.length);
    expect(resumedFetches.length).toBe(MESSAGES - beforeKill.length);
    expect(finished.lastRun?.stats).toMatchObject({ messagesAdded: MESSAGES - beforeKill.length, messagesUpdated: 0 });

    const after = await storedUids();
    expect(after).toEqual(Array.from({ length: MESSAGES }, (_, index) => index + 1));
    const { rows: messageIds } = await owner.query<{ message_id: string }>(
      `SELECT "message_id" FROM "mail_messages" WHERE "account_id" = $1`,
      [accountId],
    );
    expect(new Set(messageIds.map((row) => row.message_id))).toEqual(
      new Set(corpus.map((message) => message.expect.messageId)),
    );
    expect(finished.folders.find((folder) => folder.path === 'INBOX')).toMatchObject({
      total: MESSAGES,
      synced: MESSAGES,
      newestComplete: true,
    });
  }, 300_000);
});
