import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { JobName, JobProducer } from '@app/queue';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { MessageParseService } from '../src/parse/message-parse.service.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { imapAs, serverMessages } from '../../../test/support/mailbox.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';
import type { StoredMessage } from '../../../test/support/sync-harness.js';

const TENANT = `sync-incremental-${process.pid}`;
const PASSWORD = 'secret-2';

function mirror(rows: StoredMessage[]): string[] {
  return rows.map((row) => `${row.folder}|${row.uid}|${row.flags.join(' ')}|${row.messageId}`);
}

describe('IMAP sync engine: incremental changes, UIDVALIDITY, failures', () => {
  let stack: MailStack;
  let harness: SyncHarness;
  let fixtures: string;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'sync-incremental-'));
    harness = await SyncHarness.start();
  });

  afterAll(async () => {
    await harness?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  async function seededUser(name: string, counts: Record<string, number>): Promise<string> {
    const user = `${name}-${process.pid}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    for (const [folder, count] of Object.entries(counts)) {
      const messages = generateCorpus({
        count,
        domain: stack.domain,
        tag: `${name}-${folder}`,
        seed: count,
        maxAttachmentBytes: 100_000,
      });
      await seedMailbox(stack, user, folder, writeCorpus(join(fixtures, `${name}-${folder}`), messages));
    }
    return user;
  }

  describe.each([
    ['with CONDSTORE/QRESYNC', 'condstore', (s: MailStack) => s.imapPort],
    ['without CONDSTORE/QRESYNC', 'plain', (s: MailStack) => s.imapNoCondstorePort],
  ])('on a server %s', (_label, name, portOf) => {
    it('adding 5, flagging 3, deleting 2 and moving 1 on the server then syncing yields exactly the server state', async () => {
      const port = portOf(stack);
      const user = await seededUser(`incr-${name}`, { INBOX: 30, Archive: 10 });
      const accountId = (await harness.createAccount(TENANT, user, PASSWORD, port)).id;
      expect(await harness.sync(TENANT, accountId)).toMatchObject({ state: 'succeeded' });
      const before = await harness.storedMessages(TENANT, accountId);
      expect(before).toHaveLength(40);

      const client = await imapAs(port, user, PASSWORD);
      try {
        for (const message of generateCorpus({
          count: 5,
          domain: stack.domain,
          tag: `${name}-new`,
          seed: 99,
          maxAttachmentBytes: 50_000,
        })) {
          await client.append('INBOX', message.raw, ['\\Seen']);
        }
        const lock = await client.getMailboxLock('INBOX');
        try {
          await client.messageFlagsAdd('3,7,11', ['\\Flagged'], { uid: true });
          await client.messageFlagsAdd('12', ['$Important'], { uid: true });
          await client.messageDelete('4,5', { uid: true });
          await client.messageMove('20', 'Archive', { uid: true });
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }

      const outcome = await harness.sync(TENANT, accountId);
      const after = await harness.storedMessages(TENANT, accountId);
      const server = await serverMessages(port, user, PASSWORD);
      expect(mirror(after)).toEqual(
        server.map((message) => `${message.folder}|${message.uid}|${message.flags.join(' ')}|${message.messageId}`),
      );
      expect(outcome).toMatchObject({ state: 'succeeded', stats: { messagesAdded: 6, messagesRemoved: 3 } });
      expect(after).toHaveLength(43);
      // Untouched rows kept their identity.
      const keptIds = new Set(after.map((row) => row.id));
      expect(
        before
          .filter((row) => !keptIds.has(row.id))
          .map((row) => row.uid)
          .sort((a, b) => a - b),
      ).toEqual([4, 5, 20]);

      expect(await harness.sync(TENANT, accountId)).toMatchObject({
        stats: { messagesAdded: 0, messagesRemoved: 0, messagesUpdated: 0 },
      });
      expect(mirror(await harness.storedMessages(TENANT, accountId))).toEqual(mirror(after));
    }, 60_000);
  });

  it('rebuilds only the folder whose UIDVALIDITY changed, and keeps the messages of a renamed folder', async () => {
    const user = await seededUser('uidvalidity', { INBOX: 6, Projects: 4, Reports: 3 });
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    await harness.sync(TENANT, accountId);
    const before = await harness.storedMessages(TENANT, accountId);

    const client = await imapAs(stack.imapPort, user, PASSWORD);
    try {
      await client.mailboxDelete('Projects');
      await client.mailboxCreate('Projects');
      for (const message of generateCorpus({ count: 2, domain: stack.domain, tag: 'recreated', seed: 5 }))
        await client.append('Projects', message.raw);
      await client.mailboxRename('Reports', 'Reports-2024');
    } finally {
      await client.logout();
    }

    const outcome = await harness.sync(TENANT, accountId);
    expect(outcome).toMatchObject({ state: 'succeeded', stats: { messagesAdded: 2, messagesRemoved: 4 } });
    const after = await harness.storedMessages(TENANT, accountId);
    const pick = (rows: StoredMessage[], folder: string): StoredMessage[] =>
      rows.filter((row) => row.folder === folder);

    expect(pick(after, 'INBOX')).toEqual(pick(before, 'INBOX'));
    const projects = pick(after, 'Projects');
    expect(projects.map((row) => row.uid)).toEqual([1, 2]);
    expect(projects[0]?.uidValidity).not.toBe(pick(before, 'Projects')[0]?.uidValidity);
    expect(pick(after, 'Reports-2024').map((row) => [row.id, row.uid])).toEqual(
      pick(before, 'Reports').map((row) => [row.id, row.uid]),
    );
    expect(pick(after, 'Reports')).toEqual([]);
    expect(mirror(after)).toEqual(
      (await serverMessages(stack.imapPort, user, PASSWORD)).map(
        (m) => `${m.folder}|${m.uid}|${m.flags.join(' ')}|${m.messageId}`,
      ),
    );
  }, 60_000);

  it('records a wrong password and an unreachable server on the account with a backoff, without throwing', async () => {
    const user = await seededUser('wrongpass', { INBOX: 2 });
    const wrong = (await harness.createAccount(TENANT, user, 'not-the-password', stack.imapPort)).id;
    const down = (await harness.createAccount(TENANT, `down-${process.pid}@${stack.domain}`, PASSWORD, 1)).id;
    const healthy = (
      await harness.createAccount(
        TENANT,
        `healthy-${user}`.replace('healthy-wrongpass', 'ok'),
        PASSWORD,
        stack.imapPort,
      )
    ).id;

    const [wrongOutcome, downOutcome] = await Promise.all([harness.sync(TENANT, wrong), harness.sync(TENANT, down)]);

    expect(wrongOutcome).toMatchObject({ state: 'failed' });
    const account = await harness.account(TENANT, wrong);
    expect(account.syncState).toBe('failed');
    expect(account.lastError).toMatch(/IMAP login failed/i);
    expect(account.failureCount).toBe(1);
    expect(account.nextSyncAfter?.getTime()).toBeGreaterThan(Date.now());
    expect(downOutcome).toMatchObject({ state: 'failed' });
    expect((await harness.account(TENANT, down)).lastError).toMatch(/ECONNREFUSED|connect/i);

    await harness.sync(TENANT, wrong);
    const twice = await harness.account(TENANT, wrong);
    expect(twice.failureCount).toBe(2);
    expect(twice.nextSyncAfter?.getTime()).toBeGreaterThan(account.nextSyncAfter?.getTime() ?? 0);
    const runs = await harness.query(TENANT, (manager) =>
      manager.query<{ state: string; error: string }[]>(
        `SELECT "state", "error" FROM "sync_runs" WHERE "account_id" = $1`,
        [wrong],
      ),
    );
    expect(runs).toHaveLength(2);
    expect(runs.every((run) => run.state === 'failed' && /login/i.test(run.error))).toBe(true);
    expect(healthy).toBeDefined();

    // Scheduled syncs leave a backing-off account alone; a user's request still runs.
    const scheduled = await harness.sync(TENANT, wrong, { trigger: 'schedule' });
    expect(scheduled).toEqual({
      state: 'skipped',
      reason: expect.stringMatching(/backing off after 2 failed sync/) as unknown,
    });
    expect((await harness.account(TENANT, wrong)).failureCount).toBe(2);
    expect(await harness.sync(TENANT, wrong)).toMatchObject({ state: 'failed' });
    expect((await harness.account(TENANT, wrong)).failureCount).toBe(3);
  }, 60_000);

  it('backs off a folder the server cannot open while the others sync; scheduled runs skip it until due', async () => {
    const user = await seededUser('unreadable', { INBOX: 3, Broken: 2, Later: 2 });
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    const [local, domain] = user.split('@');
    const maildir = join(stack.stateDir, 'mail', domain ?? '', local ?? '', 'Maildir', '.Broken');
    const folderState = async (): Promise<{
      failureCount: number;
      lastError: string | null;
      nextSyncAfter: Date | null;
    }> =>
      harness.query(TENANT, async (manager) => {
        const [row] = await manager.query<
          { failure_count: number; last_error: string | null; next_sync_after: Date | null }[]
        >(
          `SELECT "failure_count", "last_error", "next_sync_after" FROM "mail_folders" WHERE "account_id" = $1 AND "path" = 'Broken'`,
          [accountId],
        );
        return {
          failureCount: row?.failure_count ?? -1,
          lastError: row?.last_error ?? null,
          nextSyncAfter: row?.next_sync_after ?? null,
        };
      });
    const storedPerFolder = async (): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {};
      for (const row of await harness.storedMessages(TENANT, accountId))
        counts[row.folder] = (counts[row.folder] ?? 0) + 1;
      return counts;
    };

    chmodSync(maildir, 0o000);
    try {
      const first = await harness.sync(TENANT, accountId, { trigger: 'schedule' });
      expect(first).toMatchObject({
        state: 'succeeded',
        stats: { foldersFailed: 1, foldersDeferred: 0 },
        error: expect.stringContaining('Broken') as unknown,
      });
      expect(await storedPerFolder()).toEqual({ INBOX: 3, Later: 2 });
      const failed = await folderState();
      expect(failed.failureCount).toBe(1);
      expect(failed.lastError).toBeTruthy();
      expect(failed.nextSyncAfter?.getTime()).toBeGreaterThan(Date.now() + 30_000);
      expect(await harness.account(TENANT, accountId)).toMatchObject({
        syncState: 'idle',
        failureCount: 0,
        nextSyncAfter: null,
      });

      const deferred = await harness.sync(TENANT, accountId, { trigger: 'schedule' });
      expect(deferred).toMatchObject({
        state: 'succeeded',
        stats: { foldersFailed: 0, foldersDeferred: 1 },
        error: null,
      });
      expect((await folderState()).failureCount).toBe(1);

      // A manual sync tries it anyway; the next failure doubles the wait.
      await harness.sync(TENANT, accountId);
      const twice = await folderState();
      expect(twice.failureCount).toBe(2);
      expect((twice.nextSyncAfter?.getTime() ?? 0) - Date.now()).toBeGreaterThan(
        (failed.nextSyncAfter?.getTime() ?? 0) - Date.now() + 30_000,
      );
    } finally {
      chmodSync(maildir, 0o700);
    }

    await harness.query(TENANT, (manager) =>
      manager.query(
        `UPDATE "mail_folders" SET "next_sync_after" = now() - interval '1 second' WHERE "account_id" = $1 AND "path" = 'Broken'`,
        [accountId],
      ),
    );
    const due = await harness.sync(TENANT, accountId, { trigger: 'schedule' });
    expect(due).toMatchObject({ state: 'succeeded', stats: { foldersFailed: 0, foldersDeferred: 0 }, error: null });
    expect(await storedPerFolder()).toEqual({ Broken: 2, INBOX: 3, Later: 2 });
    expect(await folderState()).toEqual({ failureCount: 0, lastError: null, nextSyncAfter: null });
  }, 60_000);

  it('with parsing off stores envelopes only and enqueues nothing; parse-message fills the bodies later', async () => {
    const user = await seededUser('envelope', { INBOX: 4 });
    const envelopeOnly = await SyncHarness.start({ ENABLE_EMAIL_PARSING: 'false' });
    try {
      const accountId = (await envelopeOnly.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
      await envelopeOnly.sync(TENANT, accountId);
      const rows = await envelopeOnly.storedMessages(TENANT, accountId);
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        expect(row).toMatchObject({ parseState: 'envelope', textBody: null, htmlBody: null });
        expect(row.subject).toBeTruthy();
        expect(row.headers?.['message-id']).toBe(row.messageId);
      }
      const queued = await envelopeOnly.app
        .get(JobProducer)
        .queueFor(JobName.ParseMessage)
        .getJobs(['waiting', 'delayed', 'active']);
      expect(queued.filter((job) => (job.data as { tenantId?: string }).tenantId === TENANT)).toEqual([]);

      const [first] = rows;
      if (!first) throw new Error('no row');
      const outcome = await harness.asTenant(TENANT, () => harness.app.get(MessageParseService).parse(first.id));
      expect(outcome).toEqual({ state: 'parsed' });
      const parsed = (await harness.storedMessages(TENANT, accountId)).find((row) => row.id === first.id);
      expect(parsed?.parseState).toBe('parsed');
      expect(parsed?.textBody ?? parsed?.htmlBody).toBeTruthy();
    } finally {
      await envelopeOnly.close();
    }
  }, 60_000);
});
