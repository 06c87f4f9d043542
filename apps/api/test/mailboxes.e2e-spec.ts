import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT_A = 'mailboxes-e2e-a';
const TENANT_B = 'mailboxes-e2e-b';

describe('GET /api/accounts/:id/folders', () => {
  let api: ApiProcess;
  let a: Mailbox;
  let b: Mailbox;

  beforeAll(async () => {
    api = await ApiProcess.start();
    a = await insertMailbox(
      TENANT_A,
      'me@a.test',
      [
        { path: 'Work/Reports', messageCount: 3, unseenCount: 1 },
        { path: 'Trash', role: 'trash', messageCount: 9, unseenCount: 0 },
        { path: 'INBOX', role: 'inbox', messageCount: 120, unseenCount: 7 },
        { path: 'Sent Items', role: 'sent', messageCount: 40, unseenCount: 0 },
        { path: 'Archive.2024', role: 'archive', delimiter: '.', messageCount: 2, unseenCount: 2 },
        { path: 'Work', messageCount: 0, unseenCount: 0 },
      ],
      [],
    );
    b = await insertMailbox(TENANT_B, 'b@b.test', [{ path: 'INBOX', role: 'inbox' }], []);
  }, 60_000);

  afterAll(async () => {
    await api.stop();
  });

  const get = (accountId: string, tenant: string | null = TENANT_A) =>
    api.inject({
      url: `/api/accounts/${accountId}/folders`,
      headers: tenant ? { authorization: bearerFor(tenant) } : {},
    });

  it('lists folders with counts and roles, special-use first', async () => {
    const response = await get(a.accountId);
    expect(response.statusCode).toBe(200);
    const { items } = response.json<{ items: Record<string, unknown>[] }>();
    expect(items.map((folder) => folder.path)).toEqual([
      'INBOX',
      'Sent Items',
      'Archive.2024',
      'Trash',
      'Work',
      'Work/Reports',
    ]);
    expect(items[0]).toEqual({
      id: a.folderIds.INBOX,
      name: 'INBOX',
      path: 'INBOX',
      delimiter: '/',
      role: 'inbox',
      total: 120,
      unread: 7,
      lastSyncedAt: null,
    });
    expect(items.find((folder) => folder.path === 'Archive.2024')).toMatchObject({
      name: '2024',
      delimiter: '.',
      role: 'archive',
      total: 2,
      unread: 2,
    });
    expect(items.find((folder) => folder.path === 'Work/Reports')).toMatchObject({
      name: 'Reports',
      role: null,
      total: 3,
      unread: 1,
    });
  });

  it('answers 404 for another tenant’s account exactly as for a missing one', async () => {
    const other = await get(b.accountId);
    const missing = await get('00000000-0000-4000-8000-000000000000');
    expect(other.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ code: 'account_not_found', message: `account ${b.accountId} not found` });
    expect((await get(b.accountId, TENANT_B)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('refuses a malformed id with 400 and a missing token with 401', async () => {
    expect((await get('nope')).statusCode).toBe(400);
    expect((await get(a.accountId, null)).statusCode).toBe(401);
  });
});
