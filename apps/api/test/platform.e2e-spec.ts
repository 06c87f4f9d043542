import { ApiProcess } from '../../../test/support/api-process.js';

describe('API platform: docs, errors, request ids', () => {
  let app: ApiProcess;

  beforeAll(async () => {
    app = await ApiProcess.start();
  });

  afterAll(async () => {
    await app.stop();
  });

  it('serves Swagger UI at /docs and an OpenAPI 3 document at /docs-json', async () => {
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    const json = await app.inject({ method: 'GET', url: '/docs-json' });

    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    expect(ui.body).toContain('swagger-ui');
    expect(json.statusCode).toBe(200);
    const document = json.json<{
      openapi: string;
      paths: Record<string, unknown>;
      components: { securitySchemes: object };
    }>();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toContain('/health');
    expect(document.components.securitySchemes).toHaveProperty('bearer');
  });

  it('documents the error body with every error code, and points error responses at it', async () => {
    type Schema = { properties: { code: { enum?: string[]; $ref?: string } } };
    const document = (await app.inject({ method: 'GET', url: '/docs-json' })).json<{
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> }>
      >;
      components: { schemas: Record<string, Schema & { enum?: string[] }> };
    }>();
    const body = document.components.schemas.ErrorBodyDto;
    const codes = body?.properties.code.enum ?? document.components.schemas.ErrorCode?.enum ?? [];

    expect(codes).toEqual(
      expect.arrayContaining([
        'account_not_found',
        'draft_version_conflict',
        'mail_host_not_allowed',
        'validation_failed',
        'internal_error',
      ]),
    );
    expect(
      document.paths['/api/accounts/{id}']?.get?.responses['404']?.content?.['application/json']?.schema.$ref,
    ).toBe('#/components/schemas/ErrorBodyDto');
  });

  it('answers unknown routes with the JSON error body and echoes the caller’s request id', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/no-such-thing',
      headers: { 'x-request-id': 'req-42' },
    });

    expect(response.statusCode).toBe(404);
    expect(response.headers['x-request-id']).toBe('req-42');
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'not_found',
      message: 'Cannot GET /api/no-such-thing',
      requestId: 'req-42',
    });
  });

  it('generates a request id when the caller sends none or an unsafe one', async () => {
    const none = await app.inject({ method: 'GET', url: '/health' });
    const unsafe = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'spaces and <tags>' },
    });

    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses malformed JSON with a 400 in the same shape and no stack', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/no-such-thing',
      headers: { 'content-type': 'application/json' },
      payload: '{"broken":',
    });

    expect(response.statusCode).toBe(400);
    const body = response.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'requestId', 'statusCode']);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('allows the configured CORS origins (scheme-less entries as http and https) and no others', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/api/accounts',
        headers: { origin, 'access-control-request-method': 'GET' },
      });

    const allowedHttp = await preflight('http://localhost:3000');
    const allowedHttps = await preflight('https://localhost:3000');
    const foreign = await preflight('https://evil.example');

    expect(allowedHttp.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(allowedHttps.headers['access-control-allow-origin']).toBe('https://localhost:3000');
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});
