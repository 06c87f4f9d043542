import type { AppConfig } from '@app/config';
import { generateRequestId, HttpMetrics, REQUEST_ID_HEADER } from '@app/observability';
import { TenantContext } from '@app/tenancy';
import fastifyMultipart from '@fastify/multipart';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawRequestDefaultExpression } from 'fastify';
import { Logger } from 'nestjs-pino';

import { ApiModule } from './api.module.js';
import { answerFrameworkError, answerHttpClientError } from './common/malformed-request.js';
import { depthLimitedJsonParser } from './common/json-body-parser.js';
import { setUpQueueDashboard } from './queue-dashboard/queue-dashboard.js';
import { setUpApiDocs } from './swagger.js';

/** Room in a JSON body for everything around the base64 attachments: addresses, escaping, field names. */
const JSON_ENVELOPE_BYTES = 1024 * 1024;

/**
 * Request bodies above this are refused with 413 before they reach a handler: a message of the
 * largest size (MAX_MESSAGE_SIZE_MB) with its attachments base64-encoded in JSON, 25 MiB by
 * default. Multipart uploads are streamed and limited on their own (UploadsService).
 */
export function bodyLimitBytes(config: AppConfig): number {
  return Math.ceil(config.mail.maxMessageBytes / 3) * 4 + JSON_ENVELOPE_BYTES;
}

/**
 * Builds the API exactly as it runs in production (adapter, prefix, CORS, docs); `main.ts` listens
 * on it and the e2e tests inject requests into it.
 */
export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: bodyLimitBytes(config),
    trustProxy: config.http.trustProxy,
    genReqId: (req: RawRequestDefaultExpression) => generateRequestId(req.headers[REQUEST_ID_HEADER]),
    logger: false,
    clientErrorHandler: answerHttpClientError,
    frameworkErrors: answerFrameworkError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser(
    'application/json',
    { bodyLimit: bodyLimitBytes(config) },
    depthLimitedJsonParser(app.getHttpAdapter().getInstance()),
  );
  // Multipart bodies stay unread until a handler asks for them (POST /api/compose/attachments),
  // so the guards run first and a refused upload is never buffered.
  await app.register(fastifyMultipart, { throwFileSizeLimit: false });
  const httpMetrics = app.get(HttpMetrics);
  const tenantContext = app.get(TenantContext);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.header(REQUEST_ID_HEADER, request.id);
      done();
    })
    // Each request gets a tenant context of its own, which the authentication guard fills.
    .addHook('preHandler', (_request, _reply, done) => {
      tenantContext.open(done);
    })
    // After the response went out, so it adds nothing to the request's latency; the route is
    // the template the router matched (undefined for unmatched requests), never the raw URL.
    .addHook('onResponse', (request, reply, done) => {
      httpMetrics.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  await setUpQueueDashboard(app, config);
  app.enableShutdownHooks();
  app.setGlobalPrefix('api', { exclude: ['health', 'metrics'] });
  app.enableCors({ origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins, credentials: true });
  setUpApiDocs(app, config);
  return app;
}
