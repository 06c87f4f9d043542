import type { FolderPosition, FolderProgress, SyncedMessage } from '@app/database';

import { BatchSequence, MessageBatchWriter } from '../src/sync/message-batch-writer.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';

const TENANT = `sync-batch-order-${process.pid}`;

function message(uid: number, fields: Partial<SyncedMessage> = {}): SyncedMessage {
  return {
    uid,
    modseq: null,
    messageId: `<m${uid}@order.test>`,
    inReplyTo: null,
    references: [],
    subject: `message ${uid}`,
    fromName: null,
    fromAddress: 'a@order.test',
    to: [],
    cc: [],
    bcc: [],
    replyTo: [],
    sentAt: null,
    receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, uid)),
    flags: [],
    size: 100,
    hasAttachments: false,
    snippet: null,
    textBody: `body ${uid}`,
    htmlBody: null,
    headers: null,
    parseState: 'parsed',
    attachments: [],
    deliveryReport: null,
    ...fields,
  };
}

function covering(first: number, last: number): FolderProgress {
  return { covered: { first, last }, flagsKnownAt: null };
}

describe('MessageBatchWriter.write: overlapping batches of one sequence commit in order', () => {
  let harness: SyncHarness;
  let accountNumber = 0;

  beforeAll(async () => {
    harness = await SyncHarness.start();
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function newFolder(): Promise<FolderPosition> {
    accountNumber += 1;
    const account = await harness.createAccount(TENANT, `order${accountNumber}@order.test`, 'secret', 1);
    const [folder] = await harness.query(TENANT, (manager) =>
      manager.query<{ id: string }[]>(
        `INSERT INTO "mail_folders" ("tenant_id", "account_id", "path", "name") VALUES ($1, $2, 'INBOX', 'INBOX') RETURNING "id"`,
        [TENANT, account.id],
      ),
    );
    return { folderId: folder?.id ?? '', accountId: account.id, uidValidity: '7' };
  }

  async function stored(
    position: FolderPosition,
  ): Promise<{ lastUid: number; ranges: string; rows: { uid: number; messageId: string; threadId: string }[] }> {
    return harness.query(TENANT, async (manager) => {
      const [folder] = await manager.query<{ last_uid: string; stored_uids: string }[]>(
        `SELECT "last_uid", "stored_uids"::text FROM "mail_folders" WHERE "tenant_id" = $1 AND "id" = $2`,
        [TENANT, position.folderId],
      );
      const rows = await manager.query<{ uid: string; message_id: string; thread_id: string }[]>(
        `SELECT "uid", "message_id", "thread_id" FROM "mail_messages" WHERE "tenant_id" = $1 AND "folder_id" = $2 ORDER BY "uid"`,
        [TENANT, position.folderId],
      );
      return {
        lastUid: Number(folder?.last_uid),
        ranges: folder?.stored_uids ?? '',
        rows: rows.map((row) => ({ uid: Number(row.uid), messageId: row.message_id, threadId: row.thread_id })),
      };
    });
  }

  it('a reply in the next batch joins the thread of a message whose batch has not committed yet, and merges threads it links', async () => {
    const position = await newFolder();
    const writer = harness.app.get(MessageBatchWriter);
    const sequence = new BatchSequence();
    const results = await harness.asTenant(TENANT, () =>
      Promise.all([
        writer.write(position, [message(1), message(2)], covering(1, 2), sequence),
        // Refers to both earlier messages: their threads become one.
        writer.write(
          position,
          [message(3, { inReplyTo: '<m1@order.test>', references: ['<m2@order.test>', '<m1@order.test>'] })],
          covering(3, 3),
          sequence,
        ),
        writer.write(position, [message(4, { inReplyTo: '<m3@order.test>' })], covering(4, 4), sequence),
        writer.write(position, [message(5, { subject: 'Re: message 4' })], covering(5, 5), sequence),
      ]),
    );
    expect(results.map((result) => result.inserted)).toEqual([2, 1, 1, 1]);
    const { lastUid, ranges, rows } = await stored(position);
    expect(lastUid).toBe(5);
    expect(ranges).toBe('{[1,6)}');
    expect(rows.map((row) => row.uid)).toEqual([1, 2, 3, 4, 5]);
    const threadOf = new Map(rows.map((row) => [row.uid, row.threadId]));
    expect(new Set([1, 2, 3, 4].map((uid) => threadOf.get(uid))).size).toBe(1);
    // Message 5 carries no thread headers: it joins the latest message with its base subject, not committed yet either.
    expect(threadOf.get(5)).toBe(threadOf.get(4));
  });

  it('when a batch fails, the batches after it roll back even though they were already written', async () => {
    const position = await newFolder();
    const writer = harness.app.get(MessageBatchWriter);
    const sequence = new BatchSequence();
    const outcomes = await harness.asTenant(TENANT, () =>
      Promise.allSettled([
        writer.write(position, [message(1), message(2)], covering(1, 2), sequence),
        // An integer column out of range: PostgreSQL rejects this batch's INSERT.
        writer.write(position, [message(3, { size: 2 ** 40 })], covering(3, 3), sequence),
        writer.write(position, [message(4), message(5)], covering(4, 5), sequence),
      ]),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    const { lastUid, ranges, rows } = await stored(position);
    // Exactly the prefix before the failed batch: resume fetches every UID above 2.
    expect(lastUid).toBe(2);
    expect(ranges).toBe('{[1,3)}');
    expect(rows.map((row) => row.uid)).toEqual([1, 2]);
  });

  it('a batch that failed before it was written holds back the ones after it', async () => {
    const position = await newFolder();
    const writer = harness.app.get(MessageBatchWriter);
    const sequence = new BatchSequence();
    const outcomes = await harness.asTenant(TENANT, async () => {
      const first = writer.write(position, [message(1)], covering(1, 1), sequence);
      sequence.fail(new Error('group 2 could not be parsed'));
      const third = writer.write(position, [message(3)], covering(3, 3), sequence);
      return Promise.allSettled([first, third]);
    });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
    const { lastUid, rows } = await stored(position);
    expect(lastUid).toBe(1);
    expect(rows.map((row) => row.uid)).toEqual([1]);
  });
});
