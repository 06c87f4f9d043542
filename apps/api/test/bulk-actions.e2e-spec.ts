import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ImapFlow } from 'imapflow';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { folderOnServer, withImapSession } from '../../../test/support/mailbox.js';
import type { FolderMessage } from '../../../test/support/mailbox.js';
import { createStackAccount, syncAndWait } from '../../../test/support/stack-account.js';
import { eventually } from '../../../test/support/test-config.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import type { BulkActionDto } from '../src/modules/bulk-actions/dto/bulk-action.dto.js';
import type { MessageSummaryDto } from '../src/modules/messages/dto/message-summary.dto.js';

const FROM_ALICE = 30;
const FROM_BOB = 10;

function rawMessage(to: string, from: string, subject: string, index: number): string {
  return [
    `From: ${from}`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Date: Mon, 01 Jul 2024 10:${String(index).padStart(2, '0')}:00 +0000`,
    `Message-ID: <bulk-${index}-${randomUUID()}@example.com>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}.`,
    '',
  ].join('\r\n');
}

describe('bulk message actions applied to Dovecot in UID batches', () => {
  const tenant = `bulk-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const password = 'bulk password';
  let stack: MailStack;
  let email: string;
  let api: ApiProcess;
  let accountId: string;
  let fixtures: string;

  async function onServer<T>(work: (client: ImapFlow) => Promise<T>): Promise<T> {
    return withImapSession(stack.imapPort, email, password, work);
  }

  async function serverFolder(folder: string): Promise<FolderMessage[]> {
    return folderOnServer(stack.imapPort, email, password, folder);
  }

  async function folderList(folder: string): Promise<MessageSummaryDto[]> {
    const response = await api.inject({
      url: `/api/messages?accountId=${accountId}&folder=${encodeURIComponent(folder)}&limit=200`,
      headers: auth,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: MessageSummaryDto[] }>().items;
  }

  async function bulk(payload: Record<string, unknown>): Promise<{ statusCode: number; body: BulkActionDto }> {
    const response = await api.inject({ method: 'POST', url: '/api/messages/bulk', headers: auth, payload });
    return { statusCode: response.statusCode, body: response.json<BulkActionDto>() };
  }

  async function settled(id: string): Promise<BulkActionDto> {
    return eventually(
      async () => {
        const response = await api.inject({ url: `/api/messages/bulk/${id}`, headers: auth });
        expect(response.statusCode).toBe(200);
        const body = response.json<BulkActionDto>();
        expect(body.state).toBe('completed');
        return body;
      },
      60_000,
      200,
    );
  }

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    email = `bulk-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, password);
    fixtures = mkdtempSync(join(tmpdir(), 'bulk-e2e-'));
    const files = Array.from({ length: FROM_ALICE + FROM_BOB }, (_, index) => {
      const alice = index < FROM_ALICE;
      const file = join(fixtures, `${index}.eml`);
      const subject = alice ? `Alice ${index}` : `Bob ${index}`;
      const from = alice ? 'Alice <alice@example.com>' : 'Bob <bob@example.com>';
      writeFileSync(file, rawMessage(email, from, subject, index));
      return file;
    });
    await seedMailbox(stack, email, 'INBOX', files);

    api = await ApiProcess.start();
    accountId = await createStackAccount(api, stack, auth, email, password);
    const syncing = startWorkerProcess();
    try {
      await syncAndWait(api, auth, accountId);
    } finally {
      await stopProcess(syncing);
    }
    expect(await folderList('INBOX')).toHaveLength(FROM_ALICE + FROM_BOB);
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('refuses requests that do not say which messages, where to, or that name what the tenant does not have', async () => {
    const [anyMessage] = await folderList('INBOX');
    const messageId = anyMessage?.id ?? '';
    const refusals: [Record<string, unknown>, number, string][] = [
      [{ accountId, action: 'seen' }, 400, 'invalid_bulk_request'],
      [{ accountId, action: 'seen', query: null }, 400, 'invalid_bulk_request'],
      [{ accountId, action: 'seen', query: 'from:alice', ids: [messageId] }, 400, 'invalid_bulk_request'],
      [{ accountId, action: 'move', ids: [messageId] }, 400, 'invalid_bulk_request'],
      [{ accountId, action: 'seen', ids: [messageId], folder: 'Archive' }, 400, 'invalid_bulk_request'],
      [{ accountId, action: 'seen', query: 'from:(alice' }, 400, 'invalid_search_query'],
      [{ accountId, action: 'archive', ids: [messageId] }, 400, 'validation_failed'],
      [{ accountId, action: 'seen', ids: [] }, 400, 'validation_failed'],
      [{ accountId, action: 'seen', ids: ['not-a-uuid'] }, 400, 'validation_failed'],
      [
        { accountId, action: 'seen', ids: Array.from({ length: 10_001 }, () => randomUUID()) },
        400,
        'validation_failed',
      ],
      [{ accountId: randomUUID(), action: 'seen', ids: [messageId] }, 404, 'account_not_found'],
      [{ accountId, action: 'move', ids: [messageId], folder: 'Nowhere' }, 404, 'folder_not_found'],
    ];
    for (const [payload, status, code] of refusals) {
      const response = await api.inject({ method: 'POST', url: '/api/messages/bulk', headers: auth, payload });
      expect({
        payload: Object.keys(payload),
        status: response.statusCode,
        code: response.json<{ code: string }>().code,
      }).toEqual({ payload: Object.keys(payload), status, code });
    }

    const otherTenant = { authorization: bearerFor(`${tenant}-other`) };
    const foreign = await api.inject({
      method: 'POST',
      url: '/api/messages/bulk',
      headers: otherTenant,
      payload: { accountId, action: 'seen', query: 'from:alice' },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'account_not_found' });
    expect((await folderList('INBOX')).every((message) => !message.flags.includes('\\Seen'))).toBe(true);
    const missing = await api.inject({ url: `/api/messages/bulk/${randomUUID()}`, headers: auth });
    expect(missing.json()).toMatchObject({ statusCode: 404, code: 'bulk_action_not_found' });
  });

  let flaggedBeforeWorker: BulkActionDto;

  it('changes the selected messages here at once and keeps them queued until a worker runs', async () => {
    const accepted = await bulk({ accountId, action: 'flag', query: 'from:bob' });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.body).toMatchObject({ action: 'flag', state: 'queued', total: FROM_BOB, done: 0, failed: 0 });
    flaggedBeforeWorker = accepted.body;
    const bob = (await folderList('INBOX')).filter((message) => message.subject?.startsWith('Bob'));
    expect(bob.map((message) => message.flags)).toEqual(Array.from({ length: FROM_BOB }, () => ['\\Flagged']));
    expect((await serverFolder('INBOX')).filter((message) => message.flags.includes('\\Flagged'))).toEqual([]);
    const status = await api.inject({ url: `/api/messages/bulk/${accepted.body.id}`, headers: auth });
    expect(status.json()).toMatchObject({ id: accepted.body.id, state: 'queued', done: 0 });
  });

  describe('with the worker running', () => {
    let worker: ChildProcess;

    beforeAll(() => {
      worker = startWorkerProcess();
    });

    afterAll(async () => {
      await stopProcess(worker);
    });

    it('applies the bulk action that waited for it', async () => {
      expect(await settled(flaggedBeforeWorker.id)).toMatchObject({ total: FROM_BOB, done: FROM_BOB, failed: 0 });
      await eventually(async () =>
        expect((await serverFolder('INBOX')).filter((message) => message.flags.includes('\\Flagged'))).toHaveLength(
          FROM_BOB,
        ),
      );
    }, 120_000);

    it('marks read by query with one STORE for the batch, and the next sync agrees', async () => {
      const accepted = await bulk({ accountId, action: 'seen', query: 'from:alice' });
      expect(accepted.statusCode).toBe(202);
      expect(accepted.body.total).toBe(FROM_ALICE);
      const done = await settled(accepted.body.id);
      expect(done).toMatchObject({ done: FROM_ALICE, failed: 0, failures: [], error: null });

      const alice = (await serverFolder('INBOX')).filter((message) => message.subject.startsWith('Alice'));
      expect(alice.map((message) => message.flags)).toEqual(Array.from({ length: FROM_ALICE }, () => ['\\Seen']));
      // Dovecot gives every message a STORE changes the modseq of that one transaction: one STORE
      // for the whole set leaves a single modseq among them, one STORE per message thirty.
      expect(new Set(alice.map((message) => message.modseq)).size).toBe(1);

      await syncAndWait(api, auth, accountId);
      const listed = (await folderList('INBOX')).filter((message) => message.subject?.startsWith('Alice'));
      expect(listed.map((message) => message.flags)).toEqual(Array.from({ length: FROM_ALICE }, () => ['\\Seen']));
    }, 120_000);

    it('marks unread by ids, counting messages already as asked as done and unknown ids as failed', async () => {
      const inbox = await folderList('INBOX');
      const someAlice = inbox.filter((message) => message.subject?.startsWith('Alice')).slice(0, 5);
      const someBob = inbox.filter((message) => message.subject?.startsWith('Bob')).slice(0, 2);
      const unknown = randomUUID();
      const accepted = await bulk({
        accountId,
        action: 'unseen',
        ids: [...someAlice, ...someBob].map((message) => message.id).concat(unknown),
      });
      expect(accepted.statusCode).toBe(202);
      expect(accepted.body).toMatchObject({ total: 8, done: 2, failed: 1 });
      expect(accepted.body.failures).toEqual([{ messageId: unknown, reason: 'no such message in the account' }]);
      expect(await settled(accepted.body.id)).toMatchObject({ total: 8, done: 7, failed: 1 });

      const unread = new Set(someAlice.map((message) => message.subject));
      const server = await serverFolder('INBOX');
      for (const message of server.filter((entry) => entry.subject.startsWith('Alice')))
        expect({ subject: message.subject, seen: message.flags.includes('\\Seen') }).toEqual({
          subject: message.subject,
          seen: !unread.has(message.subject),
        });
    }, 120_000);

    it('moves by query to another folder on the server; the next sync keeps each message once, under the same id', async () => {
      const before = (await folderList('INBOX')).filter((message) => message.subject?.startsWith('Bob'));
      const accepted = await bulk({ accountId, action: 'move', query: 'from:bob', folder: 'Archive' });
      expect(accepted.statusCode).toBe(202);
      expect((await folderList('Archive')).map((message) => message.id).sort()).toEqual(
        before.map((message) => message.id).sort(),
      );
      expect(await settled(accepted.body.id)).toMatchObject({ total: FROM_BOB, done: FROM_BOB, failed: 0 });
      await eventually(async () => {
        expect((await serverFolder('Archive')).map((message) => message.subject).sort()).toEqual(
          before.map((message) => message.subject).sort(),
        );
        expect((await serverFolder('INBOX')).filter((message) => message.subject.startsWith('Bob'))).toEqual([]);
      });

      await syncAndWait(api, auth, accountId);
      const archive = await folderList('Archive');
      expect(archive.map((message) => message.id).sort()).toEqual(before.map((message) => message.id).sort());
      expect(archive.every((message) => message.flags.includes('\\Flagged'))).toBe(true);
      expect((await folderList('INBOX')).filter((message) => message.subject?.startsWith('Bob'))).toEqual([]);
    }, 120_000);

    it('deletes by ids into Trash, then for good from Trash; the next sync brings nothing back', async () => {
      const doomed = (await folderList('INBOX')).filter((message) => message.subject?.startsWith('Alice')).slice(0, 12);
      const ids = doomed.map((message) => message.id);
      const trashed = await bulk({ accountId, action: 'delete', ids });
      expect(trashed.statusCode).toBe(202);
      expect(await settled(trashed.body.id)).toMatchObject({ total: 12, done: 12, failed: 0 });
      await eventually(async () => expect(await serverFolder('Trash')).toHaveLength(12));
      await syncAndWait(api, auth, accountId);
      expect((await folderList('Trash')).map((message) => message.id).sort()).toEqual([...ids].sort());

      const expunged = await bulk({ accountId, action: 'delete', query: 'in:trash' });
      expect(expunged.body.total).toBe(12);
      expect(await folderList('Trash')).toEqual([]);
      expect(await settled(expunged.body.id)).toMatchObject({ total: 12, done: 12, failed: 0 });
      await eventually(async () => expect(await serverFolder('Trash')).toEqual([]));
      await syncAndWait(api, auth, accountId);
      expect(await folderList('Trash')).toEqual([]);
      expect(await folderList('INBOX')).toHaveLength(FROM_ALICE - 12);
      const gone = await api.inject({ url: `/api/messages/${ids[0] ?? ''}`, headers: auth });
      expect(gone.statusCode).toBe(404);
    }, 180_000);

    it('records a batch the server refuses as failures and puts those messages back with the reason', async () => {
      const [victim] = (await folderList('INBOX')).filter((message) => message.subject?.startsWith('Alice'));
      // Known locally, but its folder was replaced on the server since the last sync: the batch is refused.
      await onServer(async (client) => {
        await client.mailboxCreate('Doomed');
      });
      await syncAndWait(api, auth, accountId);
      const moved = await bulk({ accountId, action: 'move', ids: [victim?.id ?? ''], folder: 'Doomed' });
      expect(moved.statusCode).toBe(202);
      const done = await settled(moved.body.id);
      expect(done).toMatchObject({ total: 1, done: 1, failed: 0 });

      await onServer(async (client) => {
        await client.mailboxDelete('Doomed');
        await client.mailboxCreate('Doomed');
      });
      const back = await bulk({ accountId, action: 'move', ids: [victim?.id ?? ''], folder: 'INBOX' });
      const refused = await settled(back.body.id);
      expect(refused).toMatchObject({ total: 1, done: 0, failed: 1 });
      expect(refused.failures).toEqual([
        { messageId: victim?.id, reason: expect.stringContaining('UIDVALIDITY changed') as unknown },
      ]);
      const detail = await api.inject({ url: `/api/messages/${victim?.id ?? ''}`, headers: auth });
      expect(detail.json()).toMatchObject({
        folder: 'Doomed',
        actionError: { action: 'move', message: expect.stringContaining('UIDVALIDITY changed') as unknown },
      });
    }, 120_000);
  });
});
