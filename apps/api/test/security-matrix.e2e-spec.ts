import { createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { ApiProcess } from '../../../test/support/api-process.js';
import type { ApiResponse } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { countingListener } from '../../../test/support/counting-listener.js';
import { TEST_JWT_SECRET } from '../../../test/support/test-config.js';

interface Operation {
  method: string;
  path: string;
}

const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function hs256(claims: object, secret = TEST_JWT_SECRET, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const unsigned = `${base64url(header)}.${base64url(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

const now = (): number => Math.floor(Date.now() / 1000);

/**
 * The OAuth2 provider sends a browser, which carries no bearer token, to the callback: the signed,
 * single-use state is what authenticates it (and names the tenant), checked in its own test below.
 */
const STATE_AUTHENTICATED: readonly string[] = ['GET /api/oauth/{provider}/callback'];
const tokenAuthenticated = (operation: Operation): boolean =>
  !STATE_AUTHENTICATED.includes(`${operation.method} ${operation.path}`);

/**
 * Every /api operation the OpenAPI document lists, so the matrix grows with the API: a new route
 * that forgets authentication or tenant scoping fails here without anyone adding a line.
 */
async function apiOperations(api: ApiProcess): Promise<Operation[]> {
  const document = (await api.inject({ url: '/docs-json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })));
}

describe('security matrix over every /api route', () => {
  const tenantA = `matrix-a-${randomUUID().slice(0, 8)}`;
  const tenantB = `matrix-b-${randomUUID().slice(0, 8)}`;
  let api: ApiProcess;
  let operations: Operation[];
  let accountOfA: { id: string; email: string };

  const call = (operation: Operation, headers: Record<string, string>, id: string) =>
    api.inject({
      method: operation.method,
      url: operation.path.replace(/\{[^}]+\}/g, id),
      headers,
      ...(['POST', 'PUT', 'PATCH'].includes(operation.method) ? { payload: {} } : {}),
    });

  beforeAll(async () => {
    api = await ApiProcess.start();
    operations = await apiOperations(api);
    const created = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: { authorization: bearerFor(tenantA) },
      payload: { email: `owner-${tenantA}@example.test`, password: 'secret-of-a' },
    });
    expect(created.statusCode).toBe(201);
    accountOfA = created.json();
  });

  afterAll(async () => {
    await api.stop();
  });

  it('covers the routes that exist', () => {
    expect(operations).toEqual(
      expect.arrayContaining([
        { method: 'GET', path: '/api/accounts' },
        { method: 'DELETE', path: '/api/accounts/{id}' },
        { method: 'GET', path: '/api/compose/outbox/{id}' },
        { method: 'POST', path: '/api/compose/outbox/{id}/cancel' },
        { method: 'POST', path: '/api/messages/bulk' },
        { method: 'GET', path: '/api/messages/bulk/{id}' },
        { method: 'GET', path: '/api/providers' },
        { method: 'POST', path: '/api/oauth/{provider}/start' },
        { method: 'GET', path: '/api/oauth/{provider}/callback' },
      ]),
    );
  });

  it('lets the OAuth2 callback in only with a state this service signed: 400 without one or with a forged one', async () => {
    const forged = `${base64url({ nonce: 'n', tenant: tenantA, user: null, provider: 'google', expiresAt: Date.now() + 60_000 })}.${createHmac('sha256', 'guess').update('x').digest('base64url')}`;
    const cases = [
      { query: '', code: 'validation_failed' },
      { query: '?code=c', code: 'validation_failed' },
      { query: `?code=c&state=${encodeURIComponent(forged)}`, code: 'oauth_state_invalid' },
      { query: '?code=c&state=not-a-state', code: 'oauth_state_invalid' },
    ];
    for (const { query, code } of cases) {
      const response = await api.inject({ url: `/api/oauth/google/callback${query}` });
      expect({ query, status: response.statusCode, code: response.json<{ code: string }>().code }).toEqual({
        query,
        status: 400,
        code,
      });
      expect(response.headers.location).toBeUndefined();
    }
  });

  const unauthenticated: [string, () => Record<string, string>][] = [
    ['no token', () => ({})],
    ['a malformed token', () => ({ authorization: 'Bearer not-a-jwt' })],
    ['a non-bearer scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['an expired token', () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA, exp: now() - 60 })}` })],
    [
      'a token not valid yet',
      () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA, nbf: now() + 3600 })}` }),
    ],
    [
      'a wrong signature',
      () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA }, 'another-secret')}` }),
    ],
    [
      'alg none',
      () => ({
        authorization: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u', tenant: tenantA })}.`,
      }),
    ],
  ];

  it.each(unauthenticated)('answers 401 with the JSON error body and no data for %s', async (name, headers) => {
    for (const operation of operations.filter(tokenAuthenticated)) {
      const response = await call(operation, headers(), accountOfA.id);
      expect({ operation, status: response.statusCode }).toEqual({ operation, status: 401 });
      expect(Object.keys(response.json()).sort()).toEqual(['code', 'error', 'message', 'requestId', 'statusCode']);
      expect(response.json()).toMatchObject({
        code: name === 'no token' || name === 'a non-bearer scheme' ? 'unauthorized' : 'invalid_token',
      });
      expect(response.body).not.toContain(accountOfA.email);
    }
  });

  it('answers 403 when the tenant header contradicts the token', async () => {
    for (const operation of operations.filter(tokenAuthenticated)) {
      const response = await call(
        operation,
        { authorization: bearerFor(tenantA), 'x-tenant-id': tenantB },
        accountOfA.id,
      );
      expect({ operation, status: response.statusCode, code: response.json<{ code: string }>().code }).toEqual({
        operation,
        status: 403,
        code: 'forbidden',
      });
    }
  });

  it('never shows or changes tenant A’s objects to tenant B: 404 like a missing object, no data', async () => {
    for (const operation of operations) {
      const response = await call(operation, { authorization: bearerFor(tenantB) }, accountOfA.id);
      expect(response.body).not.toContain(accountOfA.email);
      if (operation.path.includes('{')) {
        expect({ operation, refused: [400, 404].includes(response.statusCode) }).toEqual({ operation, refused: true });
      }
    }
    const stillThere = await api.inject({
      url: `/api/accounts/${accountOfA.id}`,
      headers: { authorization: bearerFor(tenantA) },
    });
    expect(stillThere.statusCode).toBe(200);
    expect(stillThere.json()).toMatchObject({ email: accountOfA.email });
  });

  it('lets only the owning tenant see or cancel a scheduled send', async () => {
    const ownerAuth = { authorization: bearerFor(tenantA) };
    const scheduled = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: ownerAuth,
      payload: {
        accountId: accountOfA.id,
        to: ['bob@example.test'],
        subject: 'tomorrow',
        text: 'x',
        sendAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
      },
    });
    expect(scheduled.statusCode).toBe(202);
    const sendId = scheduled.json<{ id: string }>().id;

    const otherAuth = { authorization: bearerFor(tenantB) };
    const seen = await api.inject({ url: `/api/compose/outbox/${sendId}`, headers: otherAuth });
    const cancelled = await api.inject({
      method: 'POST',
      url: `/api/compose/outbox/${sendId}/cancel`,
      headers: otherAuth,
    });
    expect([seen.statusCode, cancelled.statusCode]).toEqual([404, 404]);
    expect(cancelled.json()).toMatchObject({ code: 'send_not_found' });
    expect(cancelled.body).not.toContain('tomorrow');

    const ownView = await api.inject({ url: `/api/compose/outbox/${sendId}`, headers: ownerAuth });
    expect(ownView.json()).toMatchObject({ state: 'queued', cancelledAt: null });
    const ownCancel = await api.inject({
      method: 'POST',
      url: `/api/compose/outbox/${sendId}/cancel`,
      headers: ownerAuth,
    });
    expect(ownCancel.json()).toMatchObject({ state: 'cancelled' });
  });

  it('keeps bulk actions to their tenant: B can neither act on A’s account nor read A’s bulk action', async () => {
    const own = await api.inject({
      method: 'POST',
      url: '/api/messages/bulk',
      headers: { authorization: bearerFor(tenantA) },
      payload: { accountId: accountOfA.id, action: 'seen', query: 'is:unread' },
    });
    expect(own.statusCode).toBe(202);
    const bulkOfA = own.json<{ id: string }>().id;

    const acting = await api.inject({
      method: 'POST',
      url: '/api/messages/bulk',
      headers: { authorization: bearerFor(tenantB) },
      payload: { accountId: accountOfA.id, action: 'delete', ids: [randomUUID()] },
    });
    expect(acting.statusCode).toBe(404);
    expect(acting.json()).toMatchObject({ code: 'account_not_found' });
    const reading = await api.inject({
      url: `/api/messages/bulk/${bulkOfA}`,
      headers: { authorization: bearerFor(tenantB) },
    });
    expect(reading.statusCode).toBe(404);
    expect(reading.json()).toMatchObject({ code: 'bulk_action_not_found' });
    expect(reading.body).not.toContain(accountOfA.id);
    const mine = await api.inject({
      url: `/api/messages/bulk/${bulkOfA}`,
      headers: { authorization: bearerFor(tenantA) },
    });
    expect(mine.json()).toMatchObject({ id: bulkOfA, accountId: accountOfA.id, state: 'completed', total: 0 });
  });

  it('uses the header when the token has no tenant claim, and the default tenant without either', async () => {
    const headerOnly = await api.inject({
      url: `/api/accounts/${accountOfA.id}`,
      headers: { authorization: `Bearer ${hs256({ sub: 'u', exp: now() + 60 })}`, 'x-tenant-id': tenantA },
    });
    const neither = await api.inject({
      url: `/api/accounts/${accountOfA.id}`,
      headers: { authorization: `Bearer ${hs256({ sub: 'u', exp: now() + 60 })}` },
    });

    expect(headerOnly.statusCode).toBe(200);
    expect(neither.statusCode).toBe(404);
  });
});

async function closedPort(): Promise<number> {
  const { server, port } = await countingListener();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Account create must not become a port scanner or a way into the metadata service: a server the
 * outbound policy refuses is answered 422 `mail_host_not_allowed` before any connection, the same
 * whether its port is open or not. Only loopback is ever connected to here; the private, link-local
 * and metadata classes are covered without any connection in libs/mail/test/outbound-policy.
 */
describe('outbound policy on account create', () => {
  const tenant = `egress-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  let strict: ApiProcess;
  let bounded: ApiProcess;
  let listener: Awaited<ReturnType<typeof countingListener>>;
  /** The one loopback port the strict API admits: the other protocol's server, which must not be contacted either. */
  let allowedListener: Awaited<ReturnType<typeof countingListener>>;

  const create = (
    api: ApiProcess,
    imap: Record<string, unknown>,
    smtp: Record<string, unknown>,
    requestId: string = randomUUID(),
  ): Promise<ApiResponse> =>
    api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: { ...auth, 'x-request-id': requestId },
      payload: {
        email: `probe-${randomUUID().slice(0, 8)}@example.test`,
        password: 'secret',
        imap: { security: 'none', ...imap },
        smtp: { security: 'none', ...smtp },
      },
    });
  const timed = async (work: Promise<ApiResponse>): Promise<{ response: ApiResponse; ms: number }> => {
    const startedAt = performance.now();
    const response = await work;
    return { response, ms: performance.now() - startedAt };
  };

  beforeAll(async () => {
    listener = await countingListener((socket) => socket.destroy());
    allowedListener = await countingListener((socket) => socket.destroy());
    [strict, bounded] = await Promise.all([
      // `public`, as production runs by default.
      ApiProcess.start({ OUTBOUND_POLICY: 'public', OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${allowedListener.port}` }),
      // The test environment's allowlist (127.0.0.1 on high ports) and a short login test.
      ApiProcess.start({ ACCOUNT_VERIFY_TIMEOUT: '2', LOG_LEVEL: 'WARNING' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([strict?.stop(), bounded?.stop()]);
    listener.server.close();
    allowedListener.server.close();
  });

  const loopbackForms = [
    '127.0.0.1',
    '127.0.0.2',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::1',
    '0.0.0.0',
    '::',
    'localhost',
  ];

  it.each(loopbackForms.flatMap((host) => [['IMAP', host] as const, ['SMTP', host] as const]))(
    'refuses an %s server at %s with 422 mail_host_not_allowed, contacting neither server and storing nothing',
    async (protocol, host) => {
      const target = { host, port: listener.port };
      const elsewhere = { host: '127.0.0.1', port: allowedListener.port };
      const response = await create(
        strict,
        protocol === 'IMAP' ? target : elsewhere,
        protocol === 'SMTP' ? target : elsewhere,
      );

      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({
        statusCode: 422,
        error: 'Unprocessable Entity',
        code: 'mail_host_not_allowed',
      });
      expect(response.json<{ message: string }>().message).toContain(`${host} port ${listener.port} are not allowed`);
      expect(listener.connections()).toBe(0);
      expect(allowedListener.connections()).toBe(0);
      expect((await strict.inject({ url: '/api/accounts', headers: auth })).json()).toMatchObject({ items: [] });
    },
  );

  it('gives the same answer, as fast, whether the refused port is open or closed', async () => {
    const shut = await closedPort();
    const open = await timed(
      create(strict, { host: '127.0.0.1', port: listener.port }, { host: '127.0.0.1', port: listener.port }),
    );
    const closed = await timed(create(strict, { host: '127.0.0.1', port: shut }, { host: '127.0.0.1', port: shut }));
    const comparable = (response: ApiResponse, port: number): unknown => {
      const { requestId: _requestId, ...rest } = response.json<{ requestId: string; message: string }>();
      return { ...rest, message: rest.message.replace(String(port), 'PORT') };
    };

    expect(comparable(open.response, listener.port)).toEqual(comparable(closed.response, shut));
    expect(open.ms).toBeLessThan(1_000);
    expect(closed.ms).toBeLessThan(1_000);
    expect(listener.connections()).toBe(0);
  });

  it('admits an allowlisted host only on the ports its entry names', async () => {
    const response = await create(bounded, { host: '127.0.0.1', port: 143 }, { host: '127.0.0.1', port: 25 });

    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'mail_host_not_allowed' });
  });

  it('answers a refused connection, a hang-up and a server that never greets with one generic reason, within ACCOUNT_VERIFY_TIMEOUT', async () => {
    const silent = await countingListener();
    const shut = await closedPort();
    try {
      const outcomes = await Promise.all(
        [shut, listener.port, silent.port].map(async (port) => {
          const { response, ms } = await timed(
            create(bounded, { host: '127.0.0.1', port }, { host: '127.0.0.1', port }, `egress-${port}`),
          );
          const body = response.json<{ message: string; code?: string }>();
          return {
            status: response.statusCode,
            code: body.code,
            message: body.message.replace(String(port), 'PORT'),
            ms,
          };
        }),
      );

      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({
          status: 422,
          code: 'mail_server_unreachable',
          message:
            'IMAP login failed: could not connect to 127.0.0.1 port PORT (no answer, connection refused or reset, or TLS failed)',
        });
        expect(outcome.ms).toBeLessThan(2_000 + 1_500);
      }
      expect(silent.connections()).toBeGreaterThan(0);
      // What the socket said goes to the log, under the request's id.
      const logged = bounded.logs
        .split('\n')
        .filter((line) => line.includes('Login test could not reach the mail server'));
      expect(logged.find((line) => line.includes(`"request_id":"egress-${shut}"`))).toMatch(/ECONNREFUSED/);
      expect(logged.find((line) => line.includes(`"request_id":"egress-${silent.port}"`))).toMatch(
        /timed out|greeting/i,
      );
    } finally {
      silent.server.close();
    }
  });

  it('warns at start when production runs with OUTBOUND_POLICY=any', async () => {
    const permissive = await ApiProcess.start({ NODE_ENV: 'production', OUTBOUND_POLICY: 'any', LOG_LEVEL: 'WARNING' });
    try {
      expect(permissive.logs).toContain('OUTBOUND_POLICY=any in production');
    } finally {
      await permissive.stop();
    }
    expect(bounded.logs).not.toContain('OUTBOUND_POLICY=any');
  });
});
