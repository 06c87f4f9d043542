import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ImapFlow } from 'imapflow';
import pg from 'pg';

import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { createStackAccount, syncAndWait } from '../../../test/support/stack-account.js';
import { bearerFor } from '../../../test/support/auth.js';
import { folderOnServer, withImapSession } from '../../../test/support/mailbox.js';
import { eventually } from '../../../test/support/test-config.js';
import type { MessageActionAcceptedDto } from '../src/modules/messages/dto/message-actions.dto.js';
import type { MessageDetailDto } from '../src/modules/messages/dto/message-detail.dto.js';
import type { MessageSummaryDto } from '../src/modules/messages/dto/message-summary.dto.js';

const SUBJECTS = ['Flag me', 'Move me', 'Delete me', 'Refuse me', 'Wait for me', 'Expunge me'];

function rawMessage(to: string, subject: string, index: number): string {
  return [
    'From: Sender <sender@example.com>',
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Date: Mon, 0${index + 1} Jul 2024 10:00:00 +0000`,
    `Message-ID: <actions-${index}-${randomUUID()}@example.com>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}.`,
    '',
  ].join('\r\n');
}

describe('message actions: flags, move and delete applied to Dovecot', () => {
  const tenant = `actions-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const password = 'actions password';
  let stack: MailStack;
  let email: string;
  let api: ApiProcess;
  let accountId: string;
  let fixtures: string;
  const ids = new Map<string, string>();

  async function onServer<T>(work: (client: ImapFlow) => Promise<T>): Promise<T> {
    return withImapSession(stack.imapPort, email, password, work);
  }

  /** Subject → flags of every message in `folder` on the server. */
  async function serverFolder(folder: string): Promise<Map<string, string[]>> {
    const messages = await folderOnServer(stack.imapPort, email, password, folder);
    return new Map(messages.map((message) => [message.subject, message.flags]));
  }

  async function folderList(folder: string): Promise<MessageSummaryDto[]> {
    const response = await api.inject({
      url: `/api/messages?accountId=${accountId}&folder=${encodeURIComponent(folder)}`,
      headers: auth,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: MessageSummaryDto[] }>().items;
  }

  async function detail(subject: string): Promise<MessageDetailDto> {
    const response = await api.inject({ url: `/api/messages/${ids.get(subject) ?? ''}`, headers: auth });
    expect(response.statusCode).toBe(200);
    return response.json<MessageDetailDto>();
  }

  async function act(
    method: string,
    subject: string,
    path = '',
    payload?: unknown,
  ): Promise<{ statusCode: number; body: MessageActionAcceptedDto }> {
    const response = await api.inject({
      method,
      url: `/api/messages/${ids.get(subject) ?? ''}${path}`,
      headers: auth,
      payload,
    });
    return { statusCode: response.statusCode, body: response.json<MessageActionAcceptedDto>() };
  }

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    email = `actions-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, password);
    fixtures = mkdtempSync(join(tmpdir(), 'actions-e2e-'));
    const files = SUBJECTS.map((subject, index) => {
      const file = join(fixtures, `${index}.eml`);
      writeFileSync(file, rawMessage(email, subject, index));
      return file;
    });
    await seedMailbox(stack, email, 'INBOX', files);
    await onServer(async (client) => {
      await client.mailboxCreate('Doomed');
    });

    api = await ApiProcess.start();
    accountId = await createStackAccount(api, stack, auth, email, password);
    const worker = startWorkerProcess();
    try {
      await syncAndWait(api, auth, accountId);
    } finally {
      await stopProcess(worker);
    }
    for (const message of await folderList('INBOX')) ids.set(message.subject ?? '', message.id);
    expect([...ids.keys()].sort()).toEqual([...SUBJECTS].sort());
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('shows a move at once and refuses further changes until the server has it', async () => {
    const moved = await act('POST', 'Wait for me', '/move', { folder: 'archive' });

    expect(moved.statusCode).toBe(202);
    expect(moved.body).toMatchObject({ state: 'pending', action: 'move', folder: 'Archive', expunged: false });
    expect((await folderList('Archive')).map((message) => message.subject)).toEqual(['Wait for me']);
    expect((await folderList('INBOX')).map((message) => message.subject)).not.toContain('Wait for me');
    for (const [method, path, payload] of [
      ['PATCH', '', { seen: true }],
      ['DELETE', '', undefined],
      ['POST', '/move', { folder: 'INBOX' }],
    ] as const) {
      const refused = await act(method, 'Wait for me', path, payload);
      expect(refused.statusCode).toBe(409);
    }
  });

  it('validates requests and keeps other tenants out', async () => {
    expect((await act('PATCH', 'Flag me', '', {})).statusCode).toBe(400);
    expect((await act('PATCH', 'Flag me', '', { seen: 'yes' })).statusCode).toBe(400);
    expect((await act('PATCH', 'Flag me', '', { seen: true, color: 'red' })).statusCode).toBe(400);
    expect((await act('POST', 'Flag me', '/move', { folder: 'Nowhere' })).statusCode).toBe(404);
    expect((await act('POST', 'Flag me', '/move', {})).statusCode).toBe(400);
    const foreign = await api.inject({
      method: 'PATCH',
      url: `/api/messages/${ids.get('Flag me') ?? ''}`,
      headers: { authorization: bearerFor(`other-${tenant}`) },
      payload: { seen: true },
    });
    expect(foreign.statusCode).toBe(404);
    expect(
      (await api.inject({ method: 'DELETE', url: `/api/messages/${randomUUID()}`, headers: auth })).statusCode,
    ).toBe(404);
    expect((await detail('Flag me')).flags).toEqual([]);
  });

  describe('with the worker running', () => {
    let worker: ChildProcess;

    beforeAll(() => {
      worker = startWorkerProcess();
    });

    afterAll(async () => {
      await stopProcess(worker);
    });

    it('applies the move that waited, without duplicating it on the next sync', async () => {
      await eventually(async () => expect((await serverFolder('Archive')).has('Wait for me')).toBe(true), 30_000);
      await syncAndWait(api, auth, accountId);
      await eventually(async () =>
        expect(await folderList('Archive')).toEqual([
          expect.objectContaining({ id: ids.get('Wait for me'), subject: 'Wait for me' }),
        ]),
      );
    }, 120_000);

    it('sets and clears flags on the server, and the next sync agrees', async () => {
      const flagged = await act('PATCH', 'Flag me', '', { seen: true, flagged: true });
      expect(flagged.statusCode).toBe(202);
      expect(flagged.body).toMatchObject({
        state: 'pending',
        action: 'flags',
        folder: 'INBOX',
        flags: ['\\Flagged', '\\Seen'],
      });
      expect((await detail('Flag me')).flags).toEqual(['\\Flagged', '\\Seen']);
      await eventually(
        async () => expect((await serverFolder('INBOX')).get('Flag me')).toEqual(['\\Flagged', '\\Seen']),
        30_000,
      );

      const unread = await act('PATCH', 'Flag me', '', { seen: false });
      expect(unread.body).toMatchObject({ state: 'pending', flags: ['\\Flagged'] });
      await eventually(async () => expect((await serverFolder('INBOX')).get('Flag me')).toEqual(['\\Flagged']), 30_000);
      expect((await act('PATCH', 'Flag me', '', { flagged: true })).body).toMatchObject({
        actionId: null,
        state: 'unchanged',
      });

      await syncAndWait(api, auth, accountId);
      expect(await detail('Flag me')).toMatchObject({ folder: 'INBOX', flags: ['\\Flagged'], actionError: null });
    }, 120_000);

    it('moves to another folder on the server, and the next sync keeps it there once, under the same id', async () => {
      const moved = await act('POST', 'Move me', '/move', { folder: 'Archive' });
      expect(moved.statusCode).toBe(202);
      await eventually(async () => {
        expect((await serverFolder('Archive')).has('Move me')).toBe(true);
        expect((await serverFolder('INBOX')).has('Move me')).toBe(false);
      }, 30_000);

      await syncAndWait(api, auth, accountId);
      await eventually(async () => {
        const archive = (await folderList('Archive')).filter((message) => message.subject === 'Move me');
        expect(archive.map((message) => message.id)).toEqual([ids.get('Move me')]);
      });
      expect((await folderList('INBOX')).map((message) => message.subject)).not.toContain('Move me');
    }, 120_000);

    it('deletes into Trash, then expunges from Trash; the next syncs agree', async () => {
      const trashed = await act('DELETE', 'Delete me');
      expect(trashed.statusCode).toBe(202);
      expect(trashed.body).toMatchObject({ state: 'pending', action: 'delete', folder: 'Trash', expunged: false });
      await eventually(async () => expect((await serverFolder('Trash')).has('Delete me')).toBe(true), 30_000);
      await syncAndWait(api, auth, accountId);
      await eventually(async () =>
        expect((await folderList('Trash')).map((message) => message.id)).toEqual([ids.get('Delete me')]),
      );

      const expunged = await act('DELETE', 'Delete me');
      expect(expunged.body).toMatchObject({ state: 'pending', action: 'delete', folder: null, expunged: true });
      expect((await api.inject({ url: `/api/messages/${ids.get('Delete me') ?? ''}`, headers: auth })).statusCode).toBe(
        404,
      );
      await eventually(async () => expect((await serverFolder('Trash')).has('Delete me')).toBe(false), 30_000);
      await syncAndWait(api, auth, accountId);
      expect(await folderList('Trash')).toEqual([]);
      expect((await api.inject({ url: `/api/messages/${ids.get('Delete me') ?? ''}`, headers: auth })).statusCode).toBe(
        404,
      );
    }, 120_000);

    it('undoes a move the server refuses and shows why on the message', async () => {
      // Known locally from the last sync, gone on the server: the MOVE gets a NO.
      await onServer(async (client) => {
        await client.mailboxDelete('Doomed');
      });
      const moved = await act('POST', 'Refuse me', '/move', { folder: 'Doomed' });
      expect(moved.body).toMatchObject({ state: 'pending', folder: 'Doomed' });

      const reverted = await eventually(async () => {
        const message = await detail('Refuse me');
        expect(message.actionError).not.toBeNull();
        return message;
      }, 30_000);
      expect(reverted).toMatchObject({
        folder: 'INBOX',
        actionError: {
          action: 'move',
          message: expect.stringMatching(/refused to move the message to Doomed: .+/) as unknown,
        },
      });
      expect((await serverFolder('INBOX')).has('Refuse me')).toBe(true);

      await syncAndWait(api, auth, accountId);
      expect(
        (await folderList('INBOX')).filter((message) => message.subject === 'Refuse me').map((message) => message.id),
      ).toEqual([ids.get('Refuse me')]);
    }, 120_000);

    it('undoes an expunge from Trash the server cannot carry out, records why, and the next sync agrees with the server', async () => {
      expect((await act('DELETE', 'Expunge me')).body).toMatchObject({
        state: 'pending',
        folder: 'Trash',
        expunged: false,
      });
      await eventually(async () => expect((await serverFolder('Trash')).has('Expunge me')).toBe(true), 30_000);
      await syncAndWait(api, auth, accountId);
      await eventually(async () =>
        expect((await folderList('Trash')).map((message) => message.id)).toContain(ids.get('Expunge me')),
      );

      // Trash replaced behind the service's back: same name, a new UIDVALIDITY, and the UID stored
      // for the message names nothing there any more.
      const [oldValidity, newValidity] = await onServer(async (client) => {
        const trashValidity = async (): Promise<bigint | undefined> => {
          const status = await client.status('Trash', { uidValidity: true });
          if (status === false) throw new Error('the server does not report Trash');
          return status.uidValidity;
        };
        const old = await trashValidity();
        await client.mailboxDelete('Trash');
        await client.mailboxCreate('Trash');
        await client.append('Trash', rawMessage(email, 'Arrived in the new Trash', 6));
        return [old, await trashValidity()];
      });
      expect(oldValidity).toBeDefined();
      expect(newValidity).not.toBe(oldValidity);

      const expunged = await act('DELETE', 'Expunge me');
      expect(expunged.statusCode).toBe(202);
      expect(expunged.body).toMatchObject({ state: 'pending', action: 'delete', folder: null, expunged: true });
      const reverted = await eventually(async () => {
        const response = await api.inject({ url: `/api/messages/${ids.get('Expunge me') ?? ''}`, headers: auth });
        expect(response.statusCode).toBe(200);
        const message = response.json<MessageDetailDto>();
        expect(message.actionError).not.toBeNull();
        return message;
      }, 30_000);
      const reason = /folder Trash was replaced on the server \(UIDVALIDITY changed\)/;
      expect(reverted).toMatchObject({
        id: ids.get('Expunge me'),
        folder: 'Trash',
        subject: 'Expunge me',
        actionError: { action: 'delete', message: expect.stringMatching(reason) as unknown },
      });
      expect((await folderList('Trash')).map((message) => message.id)).toContain(ids.get('Expunge me'));
      const owner = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
      await owner.connect();
      try {
        const recorded = await owner.query<{ state: string; error: string }>(
          'SELECT state, error FROM mail_message_actions WHERE id = $1',
          [expunged.body.actionId],
        );
        expect(recorded.rows).toEqual([{ state: 'failed', error: expect.stringMatching(reason) as unknown }]);
      } finally {
        await owner.end();
      }

      await syncAndWait(api, auth, accountId);
      const onTheServer = [...(await serverFolder('Trash')).keys()];
      expect(onTheServer).toEqual(['Arrived in the new Trash']);
      expect((await folderList('Trash')).map((message) => message.subject)).toEqual(onTheServer);
      expect(
        (await api.inject({ url: `/api/messages/${ids.get('Expunge me') ?? ''}`, headers: auth })).statusCode,
      ).toBe(404);
    }, 150_000);
  });
});
