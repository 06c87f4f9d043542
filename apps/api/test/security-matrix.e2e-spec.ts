import { createHmac, randomUUID } from 'node:crypto';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
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
    expect(operations).toEqual(expect.arrayContaining([{ method: 'GET', path: '/api/accounts' }, { method: 'DELETE', path: '/api/accounts/{id}' }]));
  });

  const unauthenticated: [string, () => Record<string, string>][] = [
    ['no token', () => ({})],
    ['a malformed token', () => ({ authorization: 'Bearer not-a-jwt' })],
    ['a non-bearer scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['an expired token', () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA, exp: now() - 60 })}` })],
    ['a token not valid yet', () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA, nbf: now() + 3600 })}` })],
    ['a wrong signature', () => ({ authorization: `Bearer ${hs256({ sub: 'u', tenant: tenantA }, 'another-secret')}` })],
    ['alg none', () => ({ authorization: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u', tenant: tenantA })}.` })],
  ];

  it.each(unauthenticated)('answers 401 with the JSON error body and no data for %s', async (_name, headers) => {
    for (const operation of operations) {
      const response = await call(operation, headers(), accountOfA.id);
      expect({ operation, status: response.statusCode }).toEqual({ operation, status: 401 });
      expect(Object.keys(response.json()).sort()).toEqual(['error', 'message', 'requestId', 'statusCode']);
      expect(response.body).not.toContain(accountOfA.email);
    }
  });

  it('answers 403 when the tenant header contradicts the token', async () => {
    for (const operation of operations) {
      const response = await call(operation, { authorization: bearerFor(tenantA), 'x-tenant-id': tenantB }, accountOfA.id);
      expect({ operation, status: response.statusCode }).toEqual({ operation, status: 403 });
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
    const stillThere = await api.inject({ url: `/api/accounts/${accountOfA.id}`, headers: { authorization: bearerFor(tenantA) } });
    expect(stillThere.statusCode).toBe(200);
    expect(stillThere.json()).toMatchObject({ email: accountOfA.email });
  });

  it('uses the header when the token has no tenant claim, and the default tenant without either', async () => {
    const headerOnly = await api.inject({ url: `/api/accounts/${accountOfA.id}`, headers: { authorization: `Bearer ${hs256({ sub: 'u', exp: now() + 60 })}`, 'x-tenant-id': tenantA } });
    const neither = await api.inject({ url: `/api/accounts/${accountOfA.id}`, headers: { authorization: `Bearer ${hs256({ sub: 'u', exp: now() + 60 })}` } });

    expect(headerOnly.statusCode).toBe(200);
    expect(neither.statusCode).toBe(404);
  });
});
