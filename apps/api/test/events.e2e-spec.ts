import { JwtService } from '@nestjs/jwt';
import pg from 'pg';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { EventStreamClient } from '../../../test/support/event-stream-client.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';
import { TEST_JWT_SECRET } from '../../../test/support/test-config.js';

const TENANT = 'events-e2e';
const OTHER_TENANT = 'events-e2e-other';

interface ChangeEvent {
  seq: number;
  type: string;
  id: string;
  op: string;
}

describe('server-sent events: GET /api/events', () => {
  let apiA: ApiProcess;
  let apiB: ApiProcess;
  let mailbox: Mailbox;
  const streams: EventStreamClient[] = [];

  beforeAll(async () => {
    [apiA, apiB] = await Promise.all([ApiProcess.start(), ApiProcess.start()]);
    mailbox = await insertMailbox(TENANT, 'me@events.test', [{ path: 'INBOX', role: 'inbox' }], []);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
  });

  afterAll(async () => {
    await Promise.all([apiA?.stop(), apiB?.stop()]);
  });

  async function open(api: ApiProcess, headers: Record<string, string> = {}, tenant = TENANT) {
    const stream = await EventStreamClient.open(`${api.baseUrl}/api/events?accountId=${mailbox.accountId}`, {
      authorization: bearerFor(tenant),
      ...headers,
    });
    streams.push(stream);
    return stream;
  }

  /** Saves a draft through `api`: one `draft.created` change. */
  async function saveDraft(api: ApiProcess, subject: string): Promise<string> {
    const response = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: { authorization: bearerFor(TENANT) },
      payload: { accountId: mailbox.accountId, to: ['someone@example.com'], subject, text: subject },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>().id;
  }

  const changesOf = (stream: EventStreamClient): ChangeEvent[] =>
    stream.events.map((event) => JSON.parse(event.data) as ChangeEvent);

  it('pushes a change committed through another API process within a second, its id being the cursor', async () => {
    const stream = await open(apiA);
    expect(stream.status).toBe(200);
    const started = Date.now();
    const draftId = await saveDraft(apiB, 'pushed');
    const [event] = await stream.waitForEvents(1, 3_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(changesOf(stream)).toEqual([
      { seq: Number(event?.id), type: 'draft', id: draftId, op: 'created', at: expect.any(String) as unknown },
    ]);
  });

  it('replays exactly the missed events after a reconnect with Last-Event-ID, then goes on live', async () => {
    const first = await open(apiA);
    await saveDraft(apiA, 'before the drop');
    const [seen] = await first.waitForEvents(1);
    await first.close();

    const missed = [
      await saveDraft(apiB, 'missed 1'),
      await saveDraft(apiB, 'missed 2'),
      await saveDraft(apiA, 'missed 3'),
    ];
    const resumed = await open(apiB, { 'last-event-id': seen?.id ?? '' });
    await resumed.waitForEvents(3);
    const live = await saveDraft(apiA, 'after the resume');
    await resumed.waitForEvents(4);
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(changesOf(resumed).map((change) => change.id)).toEqual([...missed, live]);
    const ids = resumed.events.map((event) => Number(event.id));
    expect(ids).toEqual([1, 2, 3, 4].map((offset) => Number(seen?.id) + offset));
  });

  it('ends the stream when the token expires', async () => {
    const shortLived = `Bearer ${new JwtService({ secret: TEST_JWT_SECRET }).sign({ sub: 'u', tenant: TENANT }, { expiresIn: '2s' })}`;
    const started = Date.now();
    const stream = await open(apiA, { authorization: shortLived });
    expect(stream.status).toBe(200);
    await stream.finished();
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('ends its streams when the API shuts down, so the shutdown does not wait on them', async () => {
    const api = await ApiProcess.start();
    const stream = await open(api);
    expect(stream.status).toBe(200);
    const stopping = Date.now();
    await api.stop();
    await stream.finished();
    expect(Date.now() - stopping).toBeLessThan(5_000);
  });

  it('refuses another tenant’s account (404), a foreign event id (400) and an expired one (410) before streaming', async () => {
    const foreign = await open(apiA, {}, OTHER_TENANT);
    expect(foreign.status).toBe(404);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'account_not_found' });
    expect((await open(apiA, { 'last-event-id': 'x1' })).status).toBe(400);
    const ahead = await open(apiA, { 'last-event-id': '999999' });
    expect(ahead.status).toBe(400);
    expect(JSON.parse(ahead.body)).toMatchObject({ code: 'changes_cursor_unknown' });

    const owner = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
    await owner.connect();
    try {
      await owner.query(`UPDATE change_sequences SET pruned_through = 2 WHERE account_id = $1`, [mailbox.accountId]);
    } finally {
      await owner.end();
    }
    const expired = await open(apiA, { 'last-event-id': '1' });
    expect(expired.status).toBe(410);
    expect(JSON.parse(expired.body)).toMatchObject({ code: 'changes_cursor_expired' });
  });
});
