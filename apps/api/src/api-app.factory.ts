import type { AppConfig } from '@app/config';
import { generateRequestId, REQUEST_ID_HEADER } from '@app/observability';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawRequestDefaultExpression } from 'fastify';
import { Logger } from 'nestjs-pino';

import { ApiModule } from './api.module.js';
import { setUpApiDocs } from './swagger.js';

/** Request bodies above this are refused with 413 before they reach a handler. */
export const BODY_LIMIT_BYTES = 25 * 1024 * 1024;

/**
 * Builds the API exactly as it runs in production (adapter, prefix, CORS, docs); `main.ts` listens
 * on it and the e2e tests inject requests into it.
 */
export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.http.trustProxy,
    genReqId: (req: RawRequestDefaultExpression) => generateRequestId(req.headers[REQUEST_ID_HEADER]),
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => {
      void reply.header(REQUEST_ID_HEADER, request.id);
    });
  app.enableShutdownHooks();
  app.setGlobalPrefix('api', { exclude: ['health', 'metrics'] });
  app.enableCors({ origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins, credentials: true });
  setUpApiDocs(app, config);
  return app;
}
