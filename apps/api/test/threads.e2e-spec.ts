import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT_A = 'threads-e2e-a';
const TENANT_B = 'threads-e2e-b';
const me = { name: 'Me', address: 'me@a.test' };
const alice = { name: 'Alice', address: 'alice@example.com' };
const bob = { name: 'Bob', address: 'bob@example.org' };

describe('threads: GET /api/threads and GET /api/threads/:id', () => {
  let api: ApiProcess;
  let a: Mailbox;
  let b: Mailbox;
  const names = new Map<string, string>();

  beforeAll(async () => {
    api = await ApiProcess.start();
    a = await insertMailbox(
      TENANT_A,
      'me@a.test',
      [
        { path: 'INBOX', role: 'inbox' },
        { path: 'Sent', role: 'sent' },
      ],
      [
        {
          key: 'p1',
          folder: 'INBOX',
          thread: 'plan',
          receivedAt: '2024-01-01T09:00:00Z',
          subject: 'Plan',
          from: alice,
          to: [me],
          flags: ['\\Seen'],
          textBody: 'first',
        },
        {
          key: 'p2',
          folder: 'Sent',
          thread: 'plan',
          receivedAt: '2024-01-02T09:00:00Z',
          subject: 'Re: Plan',
          from: me,
          to: [alice],
          flags: ['\\Seen'],
        },
        {
          key: 'p3',
          folder: 'INBOX',
          thread: 'plan',
          receivedAt: '2024-01-05T09:00:00Z',
          subject: 'Re: Plan',
          from: bob,
          to: [me],
          flags: [],
          textBody: 'latest word',
          attachments: [{ partId: '2', filename: 'a.txt', contentType: 'text/plain', size: 3 }],
        },
        {
          key: 'solo',
          folder: 'INBOX',
          receivedAt: '2024-01-03T09:00:00Z',
          subject: 'Alone',
          from: bob,
          to: [me],
          flags: [],
        },
        {
          key: 'q1',
          folder: 'INBOX',
          thread: 'quiz',
          receivedAt: '2024-01-04T09:00:00Z',
          subject: 'Quiz',
          from: alice,
          to: [me],
          flags: ['\\Seen'],
        },
      ],
    );
    b = await insertMailbox(
      TENANT_B,
      'b@b.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        {
          key: 'b1',
          folder: 'INBOX',
          thread: 'other',
          receivedAt: '2024-01-06T09:00:00Z',
          subject: 'B',
          from: alice,
          flags: [],
        },
      ],
    );
    for (const [key, id] of [...Object.entries(a.messageIds), ...Object.entries(b.messageIds)]) names.set(id, key);
  }, 60_000);

  afterAll(async () => {
    await api.stop();
  });

  const get = (path: string, query: Record<string, string> = {}, tenant: string | null = TENANT_A) =>
    api.inject({
      url: `${path}${Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : ''}`,
      headers: tenant ? { authorization: bearerFor(tenant) } : {},
    });

  it('lists conversations across folders, most recently active first', async () => {
    const response = await get('/api/threads', { accountId: a.accountId });
    expect(response.statusCode).toBe(200);
    const { items, nextCursor } = response.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
    expect(nextCursor).toBeNull();
    expect(items.map((thread) => thread.id)).toEqual([a.threadIds.plan, a.threadIds.quiz, a.messageIds.solo]);
    expect(items[0]).toEqual({
      id: a.threadIds.plan,
      accountId: a.accountId,
      subject: 'Re: Plan',
      snippet: 'latest word',
      participants: expect.arrayContaining([alice, bob, me]) as unknown,
      messageCount: 3,
      unreadCount: 1,
      hasAttachments: true,
      date: '2024-01-05T09:00:00.000Z',
      latestMessageId: a.messageIds.p3,
    });
    expect(items[2]).toMatchObject({ messageCount: 1, unreadCount: 1, latestMessageId: a.messageIds.solo });
  });

  it('pages threads with a cursor', async () => {
    const first = (await get('/api/threads', { accountId: a.accountId, limit: '2' })).json<{
      items: { id: string }[];
      nextCursor: string;
    }>();
    expect(first.items).toHaveLength(2);
    const second = (await get('/api/threads', { accountId: a.accountId, limit: '2', cursor: first.nextCursor })).json<{
      items: { id: string }[];
      nextCursor: string | null;
    }>();
    expect(second.items.map((thread) => thread.id)).toEqual([a.messageIds.solo]);
    expect(second.nextCursor).toBeNull();
  });

  it('returns one thread oldest first, and a lone message as its own thread', async () => {
    const response = await get(`/api/threads/${a.threadIds.plan}`);
    expect(response.statusCode).toBe(200);
    const thread = response.json<{ id: string; messages: { id: string; folder: string }[] }>();
    expect(thread.id).toBe(a.threadIds.plan);
    expect(thread.messages.map((message) => names.get(message.id))).toEqual(['p1', 'p2', 'p3']);
    expect(thread.messages.map((message) => message.folder)).toEqual(['INBOX', 'Sent', 'INBOX']);
    const solo = (await get(`/api/threads/${a.messageIds.solo}`)).json<{ messages: { id: string }[] }>();
    expect(solo.messages.map((message) => names.get(message.id))).toEqual(['solo']);
  });

  it('keeps tenants apart: another tenant’s thread or account is 404', async () => {
    expect((await get(`/api/threads/${b.threadIds.other}`)).statusCode).toBe(404);
    expect((await get(`/api/threads/${b.messageIds.b1}`)).statusCode).toBe(404);
    expect((await get('/api/threads', { accountId: b.accountId })).statusCode).toBe(404);
    expect((await get(`/api/threads/${b.threadIds.other}`, {}, TENANT_B)).statusCode).toBe(200);
  });

  it('validates its input', async () => {
    expect((await get('/api/threads')).statusCode).toBe(400);
    expect((await get('/api/threads', { accountId: a.accountId, cursor: 'bad' })).statusCode).toBe(400);
    expect((await get('/api/threads/not-a-uuid')).statusCode).toBe(400);
    expect((await get('/api/threads', { accountId: a.accountId }, null)).statusCode).toBe(401);
  });
});
