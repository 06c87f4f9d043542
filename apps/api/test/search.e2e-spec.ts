import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox, ownerQuery } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT_A = 'search-e2e-a';
const TENANT_B = 'search-e2e-b';
const me = { name: 'Me', address: 'me@a.test' };

describe('GET /api/sync/search', () => {
  let api: ApiProcess;
  let a: Mailbox;
  let b: Mailbox;
  const names = new Map<string, string>();

  beforeAll(async () => {
    api = await ApiProcess.start();

    a = await insertMailbox(
      TENANT_A,
      'me@a.test',
      [{ path: 'INBOX', role: 'inbox' }, { path: 'Sent', role: 'sent' }, { path: 'Work/Reports' }],
      [
        {
          key: 'm1',
          folder: 'INBOX',
          receivedAt: '2024-01-10T08:00:00Z',
          subject: 'Quarterly invoice',
          from: { name: 'Alice Smith', address: 'alice@example.com' },
          to: [me],
          flags: [],
          hasAttachments: true,
          textBody: 'Please find the invoice attached for the café order.',
          thread: 'invoice',
        },
        {
          key: 'm2',
          folder: 'INBOX',
          receivedAt: '2024-02-15T09:00:00Z',
          subject: 'Lunch plans',
          from: { name: 'Bob Jones', address: 'bob@example.org' },
          to: [me],
          cc: [{ name: 'Carol', address: 'carol@example.net' }],
          flags: ['\\Seen'],
          textBody: 'Shall we meet for lunch? Grüße aus Berlin',
        },
        {
          key: 'm3',
          folder: 'Sent',
          receivedAt: '2024-03-01T10:00:00Z',
          subject: 'Re: Quarterly invoice',
          from: me,
          to: [{ name: 'Alice Smith', address: 'alice@example.com' }],
          flags: ['\\Seen'],
          textBody: 'Thanks, the budget review is next week.',
          thread: 'invoice',
        },
        {
          key: 'm4',
          folder: 'Work/Reports',
          receivedAt: '2024-03-20T11:00:00Z',
          subject: 'Budget review',
          from: { name: 'Dana Ólafsdóttir', address: 'dana@example.is' },
          to: [me],
          flags: ['\\Seen', '\\Flagged'],
          hasAttachments: true,
          textBody: 'The budget review meeting has moved. Notes from the 日本 trip are attached.',
        },
        {
          key: 'm5',
          folder: 'INBOX',
          receivedAt: '2024-04-01T12:00:00Z',
          subject: 'You won',
          from: { name: 'Eve', address: 'eve@spam.test' },
          to: [me],
          flags: [],
          textBody: 'Click here for a new offer.',
        },
        {
          key: 'm6',
          folder: 'INBOX',
          receivedAt: '2024-04-05T13:00:00Z',
          subject: 'Team update',
          from: { name: 'Alice Smith', address: 'alice@example.com' },
          to: [me],
          cc: [{ name: '', address: 'bob@example.org' }],
          flags: ['\\Seen'],
          textBody: 'A review of the new offer from eve: ignore it.',
        },
      ],
    );
    b = await insertMailbox(
      TENANT_B,
      'other@b.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        {
          key: 'b1',
          folder: 'INBOX',
          receivedAt: '2024-01-11T08:00:00Z',
          subject: 'Quarterly invoice',
          from: { name: 'Alice Smith', address: 'alice@example.com' },
          to: [{ name: 'Other', address: 'other@b.test' }],
          flags: [],
          hasAttachments: true,
          textBody: 'invoice café budget review offer Grüße 日本',
        },
      ],
    );
    for (const [key, id] of [...Object.entries(a.messageIds), ...Object.entries(b.messageIds)]) names.set(id, key);
  }, 60_000);

  afterAll(async () => {
    await api.stop();
  });

  const get = (query: Record<string, string>, tenant: string | null = TENANT_A) =>
    api.inject({
      url: `/api/sync/search?${new URLSearchParams(query).toString()}`,
      headers: tenant ? { authorization: bearerFor(tenant) } : {},
    });
  const search = (query: string, tenant = TENANT_A, extra: Record<string, string> = {}) =>
    get({ query, ...extra }, tenant);
  const keysFor = async (query: string, tenant = TENANT_A): Promise<string[]> => {
    const response = await search(query, tenant);
    expect(response.statusCode).toBe(200);
    return response.json<{ items: { id: string }[] }>().items.map((item) => names.get(item.id) ?? item.id);
  };

  it.each([
    // free words, phrases, accents and scripts
    ['invoice', ['m3', 'm1']],
    ['INVOICE quarterly', ['m3', 'm1']],
    ['"budget review"', ['m4', 'm3']],
    ['"review budget"', []],
    ['cafe', ['m1']],
    ['café', ['m1']],
    ['CAFÉ', ['m1']],
    ['Grüße', ['m2']],
    ['grusse', ['m2']],
    ['olafsdottir', ['m4']],
    ['日本', ['m4']],
    // the 'simple' parser keeps a run of CJK characters as one word: no match inside it
    ['日', []],
    // address operators: substrings of names and addresses, case- and accent-insensitive
    ['from:alice', ['m6', 'm1']],
    ['from:"Alice Smith"', ['m6', 'm1']],
    ['from:ALICE@EXAMPLE.COM', ['m6', 'm1']],
    ['from:example.com', ['m6', 'm1']],
    ['from:ólafsdóttir', ['m4']],
    ['from:olafsdottir', ['m4']],
    ['to:alice', ['m3']],
    ['cc:carol', ['m2']],
    ['cc:bob', ['m6']],
    ['from:%', []],
    ['from:_', []],
    // subject, flags, attachments, folders, dates
    ['subject:budget', ['m4']],
    ['subject:"budget review"', ['m4']],
    ['subject:invoice', ['m3', 'm1']],
    ['has:attachment', ['m4', 'm1']],
    ['is:unread', ['m5', 'm1']],
    ['is:read', ['m6', 'm4', 'm3', 'm2']],
    ['is:flagged', ['m4']],
    ['in:inbox', ['m6', 'm5', 'm2', 'm1']],
    ['in:INBOX', ['m6', 'm5', 'm2', 'm1']],
    ['in:sent', ['m3']],
    ['in:"Work/Reports"', ['m4']],
    ['in:work/reports', ['m4']],
    ['in:nowhere', []],
    ['before:2024-02-15', ['m1']],
    ['after:2024-04-01', ['m6', 'm5']],
    ['after:2024-02-01 before:2024-03-21', ['m4', 'm3', 'm2']],
    // negation, OR, grouping, combinations
    ['-is:read', ['m5', 'm1']],
    ['offer -from:eve', ['m6']],
    ['-in:inbox', ['m4', 'm3']],
    ['review -"budget review"', ['m6']],
    ['lunch OR budget', ['m4', 'm3', 'm2']],
    ['from:alice OR from:bob is:unread', ['m6', 'm1']],
    ['(from:alice OR from:bob) is:read', ['m6', 'm2']],
    ['from:alice has:attachment is:unread invoice before:2024-02-01 in:inbox', ['m1']],
    ['-(in:inbox OR in:sent)', ['m4']],
  ])('%s', async (query, expected) => {
    expect(await keysFor(query)).toEqual(expected);
  });

  it('answers message summaries in the documented shape', async () => {
    const response = await search('subject:"Quarterly invoice" in:inbox');
    expect(response.json()).toEqual({
      items: [
        {
          id: a.messageIds.m1,
          accountId: a.accountId,
          folder: 'INBOX',
          subject: 'Quarterly invoice',
          from: { name: 'Alice Smith', address: 'alice@example.com' },
          to: [me],
          cc: [],
          date: '2024-01-10T08:00:00.000Z',
          flags: [],
          snippet: 'Please find the invoice attached for the café order.',
          hasAttachments: true,
          threadId: a.threadIds.invoice,
          messageId: expect.stringMatching(/^<m1\./) as unknown,
          highlight: 'Please find the <mark>invoice</mark> attached for the café order.',
        },
      ],
      nextCursor: null,
    });
  });

  it('searches every account of the tenant without accountId, saying which account each hit is from and why it matched', async () => {
    const tenant = 'search-e2e-c';
    const first = await insertMailbox(
      tenant,
      'one@c.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        {
          key: 'c1',
          folder: 'INBOX',
          receivedAt: '2024-05-01T08:00:00Z',
          subject: 'Menu',
          textBody: 'Lunch at the Café <Rouge> at noon.',
        },
      ],
    );
    const second = await insertMailbox(
      tenant,
      'two@c.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        {
          key: 'c2',
          folder: 'INBOX',
          receivedAt: '2024-05-02T08:00:00Z',
          subject: 'Cafe opening',
          textBody: 'No body match.',
        },
      ],
    );
    const response = await search('cafe', tenant);
    expect(response.statusCode).toBe(200);
    expect(response.json<{ items: { id: string; accountId: string; highlight: string | null }[] }>().items).toEqual([
      expect.objectContaining({
        id: second.messageIds.c2,
        accountId: second.accountId,
        highlight: '<mark>Cafe</mark> opening',
      }),
      expect.objectContaining({
        id: first.messageIds.c1,
        accountId: first.accountId,
        highlight: 'Lunch at the <mark>Café</mark> &#60;Rouge&#62; at noon.',
      }),
    ]);
    const operatorsOnly = await search('from:alice', TENANT_A);
    expect(operatorsOnly.json<{ items: { highlight: string | null }[] }>().items.map((item) => item.highlight)).toEqual(
      [null, null],
    );
  });

  it('pages newest first with an opaque cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await search('in:inbox OR in:sent', TENANT_A, { limit: '2', ...(cursor ? { cursor } : {}) });
      expect(response.statusCode).toBe(200);
      const page = response.json<{ items: { id: string }[]; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => names.get(item.id) ?? ''));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['m6', 'm5', 'm3', 'm2', 'm1']);
  });

  it('filters by account', async () => {
    const response = await search('invoice', TENANT_A, { accountId: a.accountId });
    expect(response.json<{ items: unknown[] }>().items).toHaveLength(2);
  });

  it.each([
    ['from:"Alice', 6, 'unterminated quote'],
    ['hello label:x', 7, 'unknown operator "label:"'],
    ['before:2024-02-30', 1, 'before: needs a date'],
    ['invoice OR', 9, '"OR" needs a term after it'],
    ['from: alice', 1, 'empty value for from:'],
  ])('refuses %j with 400 naming position %i', async (query, position, reason) => {
    const response = await search(query);
    expect(response.statusCode).toBe(400);
    const body = response.json<{ statusCode: number; error: string; message: string; requestId: string }>();
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toContain(reason);
    expect(body.message).toContain(`position ${position}`);
  });

  it.each([
    ['a missing query', {}],
    ['a limit above 200', { query: 'x', limit: '201' }],
    ['a malformed account id', { query: 'x', accountId: 'nope' }],
    ['an unknown parameter', { query: 'x', sort: 'asc' }],
    ['a malformed cursor', { query: 'x', cursor: 'not-a-cursor' }],
  ])('refuses %s with 400', async (_label, query) => {
    const response = await get(query);
    expect(response.statusCode).toBe(400);
  });

  it('treats SQL in the query as text to look for', async () => {
    expect(await keysFor("'; DROP TABLE mail_messages; --")).toEqual([]);
    expect(await keysFor("from:x' OR '1'='1")).toEqual([]);
    expect(await keysFor('subject:"\') OR 1=1 --" OR in:"INBOX\' --"')).toEqual([]);
    const [{ count }] = await ownerQuery<{ count: string }>('SELECT count(*) FROM mail_messages WHERE tenant_id = $1', [
      TENANT_A,
    ]);
    expect(Number(count)).toBe(6);
    expect(await keysFor('invoice')).toEqual(['m3', 'm1']);
  });

  it('never shows one tenant the other’s messages', async () => {
    expect(await keysFor('invoice', TENANT_B)).toEqual(['b1']);
    expect(await keysFor('from:alice OR café OR 日本 OR in:inbox', TENANT_B)).toEqual(['b1']);
    for (const query of ['invoice', 'from:alice', 'café', 'has:attachment', 'is:unread', 'in:inbox']) {
      expect(await keysFor(query)).not.toContain('b1');
    }
  });

  it('answers 404 for another tenant’s account, as for a missing one', async () => {
    const response = await search('invoice', TENANT_A, { accountId: b.accountId });
    expect(response.statusCode).toBe(404);
  });

  it('requires a bearer token', async () => {
    const response = await get({ query: 'invoice' }, null);
    expect(response.statusCode).toBe(401);
  });

  it('finds a Gmail message once, not again in All Mail, unless the query names that folder', async () => {
    const tenant = 'search-e2e-gmail';
    const message = {
      receivedAt: '2024-04-01T08:00:00Z',
      subject: 'Boarding pass',
      from: { name: 'Airline', address: 'noreply@airline.test' },
      to: [me],
      flags: [],
      textBody: 'Your boarding pass for gate 12',
    };
    const gmail = await insertMailbox(
      tenant,
      'me@gmail.test',
      [
        { path: 'INBOX', role: 'inbox' },
        { path: '[Gmail]/All Mail', role: 'all' },
      ],
      [
        { key: 'g-inbox', folder: 'INBOX', ...message },
        { key: 'g-all', folder: '[Gmail]/All Mail', ...message },
      ],
    );
    for (const [key, id] of Object.entries(gmail.messageIds)) names.set(id, key);

    expect(await keysFor('boarding', tenant)).toEqual(['g-inbox']);
    expect(await keysFor('boarding in:all', tenant)).toEqual(['g-all']);
    expect(await keysFor('boarding in:"[Gmail]/All Mail"', tenant)).toEqual(['g-all']);
  });
});
