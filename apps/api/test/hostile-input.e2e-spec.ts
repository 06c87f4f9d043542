import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';

import fc from 'fast-check';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { apiOperations, HostileRequests, sendHostile, sendRequest } from '../../../test/support/hostile-requests.js';
import type { HostileRequest, OpenApiDocument, Operation } from '../../../test/support/hostile-requests.js';
import { PrivateRedis } from '../../../test/support/private-redis.js';
import { SideEffects } from '../../../test/support/side-effects.js';

/** Small, so that strings beyond the body limit (413) stay cheap to send: 1 MiB of message, about 2.4 MB of JSON. */
const MAX_MESSAGE_SIZE_MB = 1;
const BODY_LIMIT_BYTES = Math.ceil((MAX_MESSAGE_SIZE_MB * 1024 * 1024) / 3) * 4 + 1024 * 1024;
const RUNS_PER_OPERATION = 40;

/** Writes `head` as the whole request line and headers, for bytes fetch refuses to send. */
async function rawRequest(port: number, head: string): Promise<{ status: number; headers: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(Buffer.from(head, 'latin1'));
  await new Promise((resolve) => socket.on('close', resolve));
  const [headers = '', body = ''] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
  return { status: Number(headers.split(' ')[1]), headers, body };
}

describe('hostile input to every /api operation', () => {
  const tenant = `hostile-${randomUUID().slice(0, 8)}`;
  const authorization = bearerFor(tenant);
  let redis: PrivateRedis;
  let api: ApiProcess;
  let sideEffects: SideEffects;
  let document: OpenApiDocument;
  let operations: Operation[];
  let requests: HostileRequests;
  let accountId: string;

  const send = async (request: HostileRequest) => sendHostile(api.baseUrl, request, authorization);

  /** A request the API must refuse with the error body and without leaving anything behind. */
  const expectRefusedWithoutTrace = async (request: HostileRequest): Promise<number> => {
    const before = await sideEffects.snapshot();
    const { status, problem } = await send(request);
    expect({ request: `${request.method} ${request.url.slice(0, 200)}`, what: request.what, problem }).toEqual({
      request: `${request.method} ${request.url.slice(0, 200)}`,
      what: request.what,
      problem: null,
    });
    expect(await sideEffects.snapshot()).toBe(before);
    return status;
  };

  const composeBody = (fields: Record<string, unknown>): string =>
    JSON.stringify({
      accountId,
      to: ['Bob Example <bob@example.com>'],
      subject: 'Quarterly report',
      text: 'Hello',
      ...fields,
    });

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await ApiProcess.start({
      REDIS_URL: redis.url,
      QUEUE_REDIS_URL: redis.url,
      MAX_MESSAGE_SIZE_MB: String(MAX_MESSAGE_SIZE_MB),
      // The only target a valid webhook base may name here (below); nothing in this file connects to it.
      OUTBOUND_POLICY: 'allowlist',
      OUTBOUND_ALLOWED_HOSTS: '127.0.0.1:9',
    });
    const account = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: { authorization },
      payload: { email: `owner-${tenant}@example.test`, password: 'secret' },
    });
    expect(account.statusCode).toBe(201);
    accountId = account.json<{ id: string }>().id;
    const draft = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: { authorization },
      // With a recipient, so that only the hostile part of a request to send it can be what refuses it.
      payload: { accountId, subject: 'Draft', to: ['Bob Example <bob@example.com>'] },
    });
    expect(draft.statusCode).toBe(201);
    document = (await api.inject({ url: '/docs-json' })).json<OpenApiDocument>();
    // A webhook URL's host must resolve, and there is no DNS here: the bases name the address the
    // policy above admits instead of the documentation's example host.
    for (const schema of ['CreateWebhookDto', 'UpdateWebhookDto']) {
      const url = document.components.schemas[schema]?.properties?.url;
      if (url) url.example = 'http://127.0.0.1:9/hook';
    }
    operations = apiOperations(document);
    requests = new HostileRequests(document, { accountId, draftId: draft.json<{ id: string }>().id }, BODY_LIMIT_BYTES);
    sideEffects = await SideEffects.open(redis.url, tenant);
  });

  afterAll(async () => {
    await sideEffects?.close();
    await api?.stop();
    await redis?.stop();
  });

  it('starts from requests the API accepts: the valid base of each operation passes validation', async () => {
    // In a tenant of its own, where the ids do not exist: a base that passes validation answers 404 (or succeeds), never 400.
    const otherTenant = bearerFor(`${tenant}-base`);
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const operation of operations) {
      const valid = requests.valid(operation);
      const response = await sendRequest(api.baseUrl, valid, otherTenant);
      // No base can carry a state this service signed: the callback's refusal of it comes after validation.
      const stateRefused =
        operation.path === '/api/oauth/{provider}/callback' && response.body.includes('"code":"oauth_state_invalid"');
      const answer = {
        operation: `${operation.method} ${operation.path}`,
        body: String(valid.body ?? ''),
        refusal: response.status === 400 && !stateRefused ? response.body : null,
      };
      expect(answer).toEqual({ ...answer, refusal: null });
      expect(response.status).toBeLessThan(500);
    }
  });

  it('answers every generated hostile request with a 4xx and the error body, and stores and enqueues nothing', async () => {
    for (const operation of operations.filter((candidate) => requests.takesInput(candidate))) {
      await fc.assert(
        fc.asyncProperty(requests.hostile(operation), async (request) => {
          await expectRefusedWithoutTrace(request);
        }),
        { numRuns: RUNS_PER_OPERATION },
      );
    }
  }, 180_000);

  describe('regressions', () => {
    it('refuses a body nested 100,000 levels deep (was 500: stack overflow) with 400', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const status = await expectRefusedWithoutTrace({
        method: 'POST',
        url: '/api/compose',
        headers: { 'content-type': 'application/json' },
        body: deep,
        what: 'deep array',
      });
      const response = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { authorization, 'content-type': 'application/json' },
        payload: deep,
      });

      expect(status).toBe(400);
      expect(response.json()).toMatchObject({
        statusCode: 400,
        message: 'The JSON body nests arrays and objects deeper than 16 levels',
      });
    });

    it('admits 16 levels and refuses 17, also inside a field, and brackets inside strings do not count', async () => {
      const nested = (depth: number): string => `${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`;
      const atLimit = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { authorization, 'content-type': 'application/json' },
        payload: `{"accountId":"${accountId}","to":${nested(16)}}`,
      });
      const overLimit = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { authorization, 'content-type': 'application/json' },
        payload: `{"accountId":"${accountId}","to":${nested(17)}}`,
      });
      const inString = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { authorization, 'content-type': 'application/json' },
        payload: composeBody({ to: 'x', subject: '['.repeat(100) }),
      });

      expect(atLimit.json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('to:') as unknown });
      expect(overLimit.json()).toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('deeper than 16 levels') as unknown,
      });
      expect(inString.json()).toMatchObject({ statusCode: 400, message: 'to must be a list of recipients' });
    });

    it.each([
      ['\u0000', 'subject contains U+0000'],
      ['Report \ud800', 'subject contains an unpaired surrogate'],
      ['\udc00 Report', 'subject contains an unpaired surrogate'],
    ])('refuses a subject %j (was 500 from PostgreSQL) with 400 naming the field', async (subject, message) => {
      const request = {
        method: 'POST',
        url: '/api/compose',
        headers: { 'content-type': 'application/json' },
        body: composeBody({ subject }),
        what: 'subject',
      };
      const status = await expectRefusedWithoutTrace(request);
      const response = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { authorization, 'content-type': 'application/json' },
        payload: request.body,
      });

      expect(status).toBe(400);
      expect(response.json()).toMatchObject({ statusCode: 400, message });
    });

    it('names the field at any depth, in property names, in query and path parameters; refuses prototype names and lists for objects', async () => {
      const cases: [HostileRequest, string][] = [
        [
          {
            method: 'POST',
            url: '/api/compose/draft',
            headers: { 'content-type': 'application/json' },
            body: composeBody({ to: [{ name: 'Bob\u0000', address: 'bob@example.com' }] }),
            what: '',
          },
          'to[0].name contains U+0000',
        ],
        [
          {
            method: 'POST',
            url: '/api/compose',
            headers: { 'content-type': 'application/json' },
            body: composeBody({ references: ['<a@b>', '<\ud800@b>'] }),
            what: '',
          },
          'references[1] contains an unpaired surrogate',
        ],
        [
          {
            method: 'POST',
            url: '/api/accounts?verify=false',
            headers: { 'content-type': 'application/json' },
            body: '{"email":"a@example.com","password":"x","imap":{"host":"h\\u0000"}}',
            what: '',
          },
          'imap.host contains U+0000',
        ],
        [
          {
            method: 'POST',
            url: '/api/compose',
            headers: { 'content-type': 'application/json' },
            body: '{"a\\u0000":1}',
            what: '',
          },
          'a property name in body contains U+0000',
        ],
        [
          { method: 'GET', url: '/api/sync/search?query=from%3A%00', headers: {}, what: '' },
          'query parameter query contains U+0000',
        ],
        [
          { method: 'POST', url: `/api/sync/imap/${accountId}?folder=IN%00BOX`, headers: {}, what: '' },
          'query parameter folder contains U+0000',
        ],
        [{ method: 'GET', url: '/api/accounts/%00', headers: {}, what: '' }, 'path parameter id contains U+0000'],
        [
          { method: 'GET', url: '/api/accounts/%ED%A0%80', headers: {}, what: '' },
          'The path is not valid percent-encoded UTF-8',
        ],
        [
          { method: 'GET', url: '/api/messages?toString=1', headers: {}, what: '' },
          'query parameter toString is not allowed',
        ],
        [
          {
            method: 'POST',
            url: '/api/compose',
            headers: { 'content-type': 'application/json' },
            body: composeBody({ constructor: 1 }),
            what: '',
          },
          'constructor is not allowed',
        ],
        [
          {
            method: 'PUT',
            url: `/api/accounts/${accountId}?verify=false`,
            headers: { 'content-type': 'application/json' },
            body: 'null',
            what: '',
          },
          'The body must be a JSON object',
        ],
        [
          { method: 'PUT', url: `/api/accounts/${accountId}?verify=false`, headers: {}, what: '' },
          'The body must be a JSON object',
        ],
        // Was 500: the draft service took the inner list for an attachment.
        [
          {
            method: 'POST',
            url: '/api/compose/draft',
            headers: { 'content-type': 'application/json' },
            body: composeBody({ attachments: [[]] }),
            what: '',
          },
          'each of attachments must be an object with filename, contentType and content',
        ],
        // Was 200: an empty list passed ValidateNested and the account was updated.
        [
          {
            method: 'PUT',
            url: `/api/accounts/${accountId}?verify=false`,
            headers: { 'content-type': 'application/json' },
            body: '{"smtp":[]}',
            what: '',
          },
          'smtp must be an object of server settings',
        ],
      ];
      for (const [request, message] of cases) {
        expect(await expectRefusedWithoutTrace(request)).toBe(400);
        const response = await api.inject({
          method: request.method,
          url: request.url,
          headers: { authorization, ...request.headers },
          payload: request.body,
        });
        expect(response.json()).toMatchObject({ message });
      }
    });

    it.each([
      [
        "filename*=UTF-8''%ED%A0%80",
        'Part 1: its filename is not valid UTF-8 (an unpaired surrogate?); nothing was stored',
      ],
      ['filename="\u00ed\u00a0\u0080.txt"', 'Part 1: its header is not valid UTF-8; nothing was stored'],
      [
        "filename*=UTF-8''a%00b.txt",
        'Part 1: its filename holds a line break or another control character; nothing was stored',
      ],
    ])('refuses a multipart upload whose part has %s (was stored as U+FFFD)', async (parameter, message) => {
      const boundary = `----${randomUUID()}`;
      const body = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${parameter}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`,
        'latin1',
      );
      const request = {
        method: 'POST',
        url: `/api/compose/attachments?accountId=${accountId}`,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
        what: parameter,
      };

      expect(await expectRefusedWithoutTrace(request)).toBe(400);
      expect(JSON.parse((await sendRequest(api.baseUrl, request, authorization)).body)).toMatchObject({ message });
    });

    it('keeps tabs, line breaks and other control characters in a text body', async () => {
      const response = await api.inject({
        method: 'POST',
        url: '/api/compose/draft',
        headers: { authorization, 'content-type': 'application/json' },
        payload: JSON.stringify({ accountId, subject: 'Tabs\tand \u0007 bells 😀', text: 'line\r\nbreak\u0001\u001f' }),
      });

      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({
        subject: 'Tabs\tand \u0007 bells 😀',
        text: 'line\r\nbreak\u0001\u001f',
      });
    });

    it('refuses a body over the size limit with 413 from its Content-Length, before reading it', async () => {
      const status = await expectRefusedWithoutTrace({
        method: 'POST',
        url: '/api/compose',
        headers: { 'content-type': 'application/json' },
        body: '['.repeat(BODY_LIMIT_BYTES + 1),
        what: 'too large',
        oversized: true,
      });

      expect(status).toBe(413);
    });

    it.each([
      ['X-Tenant-ID', 'x-tenant-id: a\u0000b'],
      ['Idempotency-Key', 'idempotency-key: key\u0000'],
      ['X-Request-ID', 'x-request-id: \u0000'],
      ['Authorization', `authorization: ${authorization}\u0000`],
    ])('answers U+0000 in the %s header with 400 and the error body', async (_name, header) => {
      const port = Number(new URL(api.baseUrl).port);
      const before = await sideEffects.snapshot();
      const response = await rawRequest(
        port,
        `POST /api/compose HTTP/1.1\r\nhost: localhost\r\n${header}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
      );
      const body = JSON.parse(response.body) as Record<string, unknown>;

      expect(response.status).toBe(400);
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'requestId', 'statusCode']);
      expect(body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringContaining('U+0000') as unknown,
      });
      expect(response.headers).toContain(`x-request-id: ${String(body.requestId)}`);
      expect(await sideEffects.snapshot()).toBe(before);
    });
  });
});
