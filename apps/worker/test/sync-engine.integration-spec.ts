import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { countingListener } from '../../../test/support/counting-listener.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import type { GeneratedMessage } from '../../../test/support/mail-corpus.js';
import { serverMessages } from '../../../test/support/mailbox.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';
import type { StoredMessage } from '../../../test/support/sync-harness.js';

const TENANT = `sync-engine-${process.pid}`;
const PASSWORD = 'secret-1';

describe('IMAP sync engine: first sync and re-run', () => {
  let stack: MailStack;
  let harness: SyncHarness;
  let fixtures: string;
  const user = `engine-${process.pid}@example.test`;
  let accountId: string;
  const seeded = new Map<string, GeneratedMessage[]>();

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    await addMailUser(stack, user, PASSWORD);
    fixtures = mkdtempSync(join(tmpdir(), 'sync-engine-'));
    const inbox = generateCorpus({ count: 48, domain: stack.domain, tag: 'inbox', seed: 7 });
    const archive = generateCorpus({
      count: 14,
      domain: stack.domain,
      tag: 'archive',
      seed: 11,
      maxAttachmentBytes: 200_000,
    });
    const sent = generateCorpus({
      count: 3,
      domain: stack.domain,
      tag: 'sent',
      seed: 13,
      kinds: ['plain', 'unparseable', 'html'],
    });
    // Sources over 1 MB are parsed as they are read rather than fetched whole.
    const large = generateCorpus({
      count: 4,
      domain: stack.domain,
      tag: 'large',
      seed: 17,
      kinds: ['attachment', 'related'],
      maxAttachmentBytes: 3_000_000,
      typicalAttachmentBytes: 2_000_000,
    });
    expect(large.filter((message) => message.raw.length > 1024 * 1024).length).toBeGreaterThanOrEqual(2);
    seeded.set('INBOX', inbox).set('Archive/2024', archive).set('Sent', sent).set('Large', large);
    for (const [folder, messages] of seeded) {
      await seedMailbox(stack, user, folder, writeCorpus(join(fixtures, folder.replace('/', '_')), messages));
    }
    harness = await SyncHarness.start();
    accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  let firstRun: StoredMessage[];

  it('stores every message once with the fields Dovecot reports and mailparser decodes', async () => {
    const outcome = await harness.sync(TENANT, accountId);
    expect(outcome).toMatchObject({ state: 'succeeded', error: null });

    const stored = await harness.storedMessages(TENANT, accountId);
    const server = await serverMessages(stack.imapPort, user, PASSWORD);
    expect(stored.map((row) => [row.folder, row.uid])).toEqual(server.map((message) => [message.folder, message.uid]));
    for (const [index, message] of server.entries()) {
      const row = stored[index];
      expect({
        flags: row.flags,
        size: row.size,
        receivedAt: row.receivedAt.toISOString(),
        messageId: row.messageId,
      }).toEqual({
        flags: message.flags,
        size: message.size,
        receivedAt: message.internalDate.toISOString(),
        messageId: message.messageId,
      });
    }

    const byMessageId = new Map(stored.map((row) => [`${row.folder}|${row.messageId}`, row]));
    const threadOf = new Map<string, string | null>();
    for (const [folder, messages] of seeded) {
      for (const { expect: expected } of messages) {
        const row = byMessageId.get(`${folder}|${expected.messageId}`);
        expect(row).toBeDefined();
        if (!row) continue;
        expect(row.subject).toBe(expected.subject);
        expect(row.fromAddress).toBe(expected.fromAddress);
        expect(row.fromName).toBe(expected.fromName);
        expect(row.to.map((address) => address.address)).toEqual(expected.to);
        expect(row.cc.map((address) => address.address)).toEqual(expected.cc);
        expect(row.inReplyTo).toBe(expected.inReplyTo);
        expect(row.references).toEqual(expected.references);
        expect(row.headers?.['message-id']).toBe(expected.messageId);
        if (expected.unparseable) {
          expect(row.parseState).toBe('unparseable');
          continue;
        }
        expect(row.parseState).toBe('parsed');
        if (expected.textIncludes) expect(row.textBody).toContain(expected.textIncludes);
        if (expected.htmlIncludes) expect(row.htmlBody).toContain(expected.htmlIncludes);
        expect(row.snippet?.length).toBeGreaterThan(0);
        expect(
          row.attachments.map(({ filename, contentType, size, inline }) => ({ filename, contentType, size, inline })),
        ).toEqual(expected.attachments);
        expect(row.hasAttachments).toBe(expected.attachments.some((attachment) => !attachment.inline));
        const key = `${folder}|${expected.threadKey}`;
        if (threadOf.has(key)) expect(row.threadId).toBe(threadOf.get(key));
        else threadOf.set(key, row.threadId);
      }
    }
    // Distinct conversations got distinct threads.
    expect(new Set(threadOf.values()).size).toBe(threadOf.size);
    expect(stored).toHaveLength([...seeded.values()].reduce((total, list) => total + list.length, 0));
    firstRun = stored;
  }, 120_000);

  it('records folder counters, the run and an idle account', async () => {
    const folders = await harness.query(TENANT, (manager) =>
      manager.query<
        {
          path: string;
          role: string | null;
          message_count: number;
          synced_count: number;
          last_uid: string;
          highest_modseq: string | null;
        }[]
      >(
        `SELECT "path", "role", "message_count", "synced_count", "last_uid", "highest_modseq" FROM "mail_folders" WHERE "account_id" = $1 ORDER BY "path"`,
        [accountId],
      ),
    );
    const byPath = new Map(folders.map((folder) => [folder.path, folder]));
    expect(byPath.get('INBOX')).toMatchObject({ role: 'inbox', message_count: 48, synced_count: 48, last_uid: '48' });
    expect(byPath.get('Sent')).toMatchObject({ role: 'sent', message_count: 3, synced_count: 3 });
    expect(byPath.get('Trash')).toMatchObject({ role: 'trash', message_count: 0 });
    expect(byPath.get('Archive/2024')?.highest_modseq).not.toBeNull();
    const account = await harness.account(TENANT, accountId);
    expect(account).toMatchObject({ syncState: 'idle', lastError: null, failureCount: 0 });
    expect(account.lastSyncedAt).toBeInstanceOf(Date);
  });

  it('changes nothing when run again, skipping every unchanged folder without fetching', async () => {
    const outcome = await harness.sync(TENANT, accountId);

    expect(outcome).toMatchObject({
      state: 'succeeded',
      stats: { messagesAdded: 0, messagesUpdated: 0, messagesRemoved: 0, foldersSynced: 0 },
    });
    expect(await harness.storedMessages(TENANT, accountId)).toEqual(firstRun);
  });

  it('a full re-sync rewrites nothing new and duplicates nothing', async () => {
    const outcome = await harness.sync(TENANT, accountId, { full: true });

    expect(outcome).toMatchObject({ state: 'succeeded', stats: { messagesAdded: 0, messagesRemoved: 0 } });
    const again = await harness.storedMessages(TENANT, accountId);
    expect(again.map((row) => [row.id, row.threadId, row.uid])).toEqual(
      firstRun.map((row) => [row.id, row.threadId, row.uid]),
    );
  });

  it('records a server the outbound policy refuses as the account’s sync error, without connecting to it', async () => {
    // Loopback, but not the 127.0.0.1 the test environment allows: refused like any internal address.
    const listener = await countingListener((socket) => socket.destroy(), '127.0.0.2');
    try {
      const refused = (
        await harness.createAccount(TENANT, `refused-${process.pid}@example.test`, PASSWORD, listener.port, '127.0.0.2')
      ).id;

      const outcome = await harness.sync(TENANT, refused);

      expect(outcome).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(/^Connections to 127\.0\.0\.2 port \d+ are not allowed/) as unknown,
      });
      expect(await harness.account(TENANT, refused)).toMatchObject({
        syncState: 'failed',
        failureCount: 1,
        lastError: expect.stringContaining('not allowed') as unknown,
      });
      expect(listener.connections()).toBe(0);
    } finally {
      listener.server.close();
    }
  });
});
