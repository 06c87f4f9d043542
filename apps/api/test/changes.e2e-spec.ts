import pg from 'pg';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT_A = 'changes-e2e-a';
const TENANT_B = 'changes-e2e-b';

interface Change {
  seq: number;
  type: string;
  id: string;
  op: string;
  at: string;
}

interface ChangesPage {
  changes: Change[];
  state: string;
  hasMore: boolean;
}

describe('change log: GET /api/changes', () => {
  let api: ApiProcess;
  let a: Mailbox;

  beforeAll(async () => {
    api = await ApiProcess.start();
    a = await insertMailbox(
      TENANT_A,
      'me@changes-a.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        { key: 'first', folder: 'INBOX', thread: 'plan', receivedAt: '2024-01-01T09:00:00Z', subject: 'Plan' },
        { key: 'reply', folder: 'INBOX', thread: 'plan', receivedAt: '2024-01-02T09:00:00Z', subject: 'Re: Plan' },
        { key: 'solo', folder: 'INBOX', thread: 'solo', receivedAt: '2024-01-03T09:00:00Z', subject: 'Alone' },
      ],
    );
    await insertMailbox(TENANT_B, 'me@changes-b.test', [{ path: 'INBOX', role: 'inbox' }], []);
  }, 60_000);

  afterAll(async () => {
    await api.stop();
  });

  const changes = (query: Record<string, string>, tenant = TENANT_A) =>
    api.inject({
      url: `/api/changes?${new URLSearchParams({ accountId: a.accountId, ...query }).toString()}`,
      headers: { authorization: bearerFor(tenant) },
    });

  async function page(query: Record<string, string>): Promise<ChangesPage> {
    const response = await changes(query);
    expect(response.statusCode).toBe(200);
    return response.json<ChangesPage>();
  }

  it('replays the log from 0 in commit order, in pages that neither skip nor repeat', async () => {
    const seen: Change[] = [];
    let state = '0';
    for (let pages = 0; pages < 20; pages += 1) {
      const next = await page({ since: state, limit: '2' });
      seen.push(...next.changes);
      state = next.state;
      if (!next.hasMore) break;
    }
    expect(seen.map((change) => change.seq)).toEqual(seen.map((_, index) => index + 1));
    expect(seen.map(({ type, id, op }) => ({ type, id, op }))).toEqual(
      expect.arrayContaining([
        { type: 'folder', id: a.folderIds.INBOX, op: 'created' },
        { type: 'message', id: a.messageIds.first, op: 'created' },
        { type: 'message', id: a.messageIds.reply, op: 'created' },
        { type: 'message', id: a.messageIds.solo, op: 'created' },
        { type: 'thread', id: a.threadIds.plan, op: 'created' },
      ]),
    );
    expect(new Set(seen.map((change) => `${change.type}:${change.id}`)).size).toBe(seen.length);
    expect(Number(state)).toBe(seen.length);
  });

  it('starts a client at the current state, then reports exactly what the API changed after it', async () => {
    const start = await page({});
    expect(start.changes).toEqual([]);

    const flagged = await api.inject({
      method: 'PATCH',
      url: `/api/messages/${a.messageIds.first}`,
      headers: { authorization: bearerFor(TENANT_A) },
      payload: { seen: true },
    });
    expect(flagged.statusCode).toBeLessThan(300);
    const afterFlag = await page({ since: start.state });
    expect(afterFlag.changes.map(({ type, id, op }) => ({ type, id, op }))).toEqual([
      { type: 'message', id: a.messageIds.first, op: 'updated' },
    ]);
    expect(afterFlag.hasMore).toBe(false);

    const draft = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: { authorization: bearerFor(TENANT_A) },
      payload: { accountId: a.accountId, to: ['someone@example.com'], subject: 'later', text: 'draft' },
    });
    expect(draft.statusCode).toBe(201);
    const afterDraft = await page({ since: afterFlag.state });
    expect(afterDraft.changes.map(({ type, id, op }) => ({ type, id, op }))).toEqual([
      { type: 'draft', id: draft.json<{ id: string }>().id, op: 'created' },
    ]);
    expect(await page({ since: afterDraft.state })).toEqual({ changes: [], state: afterDraft.state, hasMore: false });
  });

  it('refuses cursors it did not issue with 400, other tenants’ accounts with 404', async () => {
    const malformed = await changes({ since: 'abc' });
    expect(malformed.statusCode).toBe(400);
    const ahead = await changes({ since: '999999' });
    expect(ahead.statusCode).toBe(400);
    expect(ahead.json()).toMatchObject({ code: 'changes_cursor_unknown' });
    const foreign = await changes({ since: '0' }, TENANT_B);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'account_not_found' });
  });

  it('answers 410 saying to resync for a cursor older than what retention kept', async () => {
    const owner = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
    await owner.connect();
    try {
      await owner.query(`UPDATE "change_sequences" SET "pruned_through" = 3 WHERE "account_id" = $1`, [a.accountId]);
    } finally {
      await owner.end();
    }
    const expired = await changes({ since: '2' });
    expect(expired.statusCode).toBe(410);
    expect(expired.json()).toMatchObject({
      code: 'changes_cursor_expired',
      message: expect.stringContaining('resync') as unknown,
    });
    expect((await changes({ since: '3' })).statusCode).toBe(200);
  });
});
