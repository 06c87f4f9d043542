import { randomUUID } from 'node:crypto';

import { Queue } from 'bullmq';

import { ApiProcess } from '../../../test/support/api-process.js';
import type { ApiResponse } from '../../../test/support/api-process.js';

const USERNAME = 'operator';
const PASSWORD = `dashboard-${randomUUID()}`;
const basic = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const OPERATOR = { authorization: basic(USERNAME, PASSWORD) };

/** Queues of this file's own: pausing one must not stop another test file's jobs. */
const PREFIX = `${process.env.REDIS_KEY_PREFIX ?? 'test'}:dashboard-${randomUUID().slice(0, 8)}`;

function expectRefused(response: ApiResponse, statusCode: number): void {
  expect(response.statusCode).toBe(statusCode);
  expect(response.json()).toEqual({
    statusCode,
    error: expect.any(String) as unknown,
    code: ({ 401: 'unauthorized', 403: 'forbidden', 503: 'service_unavailable' } as Record<number, string>)[statusCode],
    message: expect.any(String) as unknown,
    requestId: expect.any(String) as unknown,
  });
}

describe('queue dashboard at /admin/queues', () => {
  let api: ApiProcess;
  let syncQueue: Queue;

  beforeAll(async () => {
    api = await ApiProcess.start({
      REDIS_KEY_PREFIX: PREFIX,
      QUEUE_DASHBOARD_USERNAME: USERNAME,
      QUEUE_DASHBOARD_PASSWORD: PASSWORD,
      LOG_LEVEL: 'INFO',
    });
    syncQueue = new Queue('mail-sync', {
      connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0' },
      prefix: `${PREFIX}:queue`,
    });
  });

  afterAll(async () => {
    await syncQueue?.obliterate({ force: true }).catch(() => undefined);
    await syncQueue?.close();
    await api?.stop();
  });

  it.each([
    ['no credentials', {}],
    ['a wrong password', { authorization: basic(USERNAME, `${PASSWORD}x`) }],
    ['a wrong username', { authorization: basic('admin', PASSWORD) }],
    ['a bearer token', { authorization: 'Bearer abc' }],
  ])('answers 401 asking for Basic credentials to %s', async (_name, headers) => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
      const response = await api.inject({ url, headers });
      expectRefused(response, 401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="queue dashboard"/);
    }
  });

  it('shows the board and the service’s queues to the operator', async () => {
    const page = await api.inject({ url: '/admin/queues', headers: OPERATOR });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<base href="/admin/queues/"');
    // The browser loads the board's scripts relative to that base, sending the same login.
    const assets = [...page.body.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map(
      (match) => `/admin/queues/${match[1] ?? ''}`,
    );
    expect(assets.length).toBeGreaterThan(1);
    for (const asset of assets) {
      expect((await api.inject({ url: asset, headers: OPERATOR })).statusCode).toBe(200);
      expect((await api.inject({ url: asset })).statusCode).toBe(401);
    }

    const queues = await api.inject({ url: '/admin/queues/api/queues', headers: OPERATOR });
    expect(queues.statusCode).toBe(200);
    const names = queues.json<{ queues: { name: string }[] }>().queues.map((queue) => queue.name);
    expect(names.sort()).toEqual([
      'mail-actions',
      'mail-bulk-actions',
      'mail-drafts',
      'mail-parse',
      'mail-send',
      'mail-sync',
      'mail-webhooks',
    ]);
  });

  it('takes changes from its own page and refuses them when another site makes the browser send them', async () => {
    const crossSite = await api.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/mail-sync/pause',
      headers: { ...OPERATOR, 'sec-fetch-site': 'cross-site' },
    });
    expectRefused(crossSite, 403);
    const foreignOrigin = await api.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/mail-sync/pause',
      headers: { ...OPERATOR, origin: 'https://evil.example' },
    });
    expectRefused(foreignOrigin, 403);
    expect(await syncQueue.isPaused()).toBe(false);

    const own = await api.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/mail-sync/pause',
      headers: { ...OPERATOR, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).toBe(200);
    expect(await syncQueue.isPaused()).toBe(true);
    const resumed = await api.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/mail-sync/resume',
      headers: { ...OPERATOR, 'sec-fetch-site': 'same-origin' },
    });
    expect(resumed.statusCode).toBe(200);
    expect(await syncQueue.isPaused()).toBe(false);
  });

  it('logs refused logins and every change, never the operator password', () => {
    expect(api.logs).toMatch(/"message":"Queue dashboard login refused"/);
    expect(api.logs).toMatch(
      /"method":"PUT","url":"\/admin\/queues\/api\/queues\/mail-sync\/pause".*"message":"Queue dashboard change"/,
    );
    expect(api.logs).toMatch(/"message":"Queue dashboard change refused: sent from another site"/);
    expect(api.logs).not.toContain(PASSWORD);
    expect(api.logs).not.toContain(OPERATOR.authorization.slice('Basic '.length));
  });

  it('answers 503 saying how to turn it on when no operator login is configured', async () => {
    const withoutLogin = await ApiProcess.start();
    try {
      for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
        const response = await withoutLogin.inject({ url, headers: OPERATOR });
        expectRefused(response, 503);
        expect(response.json<{ message: string }>().message).toMatch(
          /QUEUE_DASHBOARD_USERNAME and QUEUE_DASHBOARD_PASSWORD/,
        );
      }
    } finally {
      await withoutLogin.stop();
    }
  });
});
