import type { AppConfig } from '@app/config';
import { QueueName } from '@app/queue';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { httpErrorCode } from '../common/error-codes.js';
import { OperatorCredentials } from './operator-credentials.js';

/** Outside /api: operators open it in a browser, with HTTP Basic instead of a bearer token. */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  error: string,
  message: string,
): FastifyReply {
  return reply
    .status(statusCode)
    .header('cache-control', 'no-store')
    .send({ statusCode, error, code: httpErrorCode(statusCode), message, requestId: request.id });
}

/**
 * A browser sends Basic credentials with every request to the site, also with requests another
 * site makes it send. The dashboard can retry, clean and delete jobs, so a request that changes
 * something must come from the dashboard's own page: Sec-Fetch-Site says so in current browsers,
 * Origin against Host in older ones.
 */
function isCrossSite(request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined) return fetchSite !== 'same-origin';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}

async function mountDashboard(
  scope: FastifyInstance,
  credentials: OperatorCredentials,
  queues: Queue[],
): Promise<void> {
  const logger = new Logger('QueueDashboard');
  // The dashboard's routes are Fastify's, outside Nest's access log: refusals and changes are
  // logged here (never the credentials), so an operator's actions can be traced.
  scope.addHook('onRequest', async (request, reply) => {
    const context = { request_id: request.id, method: request.method, url: request.url, ip: request.ip };
    if (!credentials.accepts(request.headers.authorization)) {
      if (request.headers.authorization !== undefined) logger.warn(context, 'Queue dashboard login refused');
      void reply.header('www-authenticate', 'Basic realm="queue dashboard", charset="UTF-8"');
      return refuse(request, reply, 401, 'Unauthorized', 'Operator credentials are required for the queue dashboard');
    }
    if (isCrossSite(request)) {
      logger.warn(context, 'Queue dashboard change refused: sent from another site');
      return refuse(
        request,
        reply,
        403,
        'Forbidden',
        'Changes to the queues are only accepted from the dashboard itself',
      );
    }
    if (!SAFE_METHODS.has(request.method)) logger.log(context, 'Queue dashboard change');
    return undefined;
  });
  const board = new BullBoardFastifyAdapter();
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  board.setBasePath(QUEUE_DASHBOARD_PATH);
  await scope.register(board.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}

/**
 * Bull Board over the service's queues for operators, behind the login from
 * QUEUE_DASHBOARD_USERNAME / QUEUE_DASHBOARD_PASSWORD. Without that login the path answers 503
 * saying how to turn it on, so nobody mistakes it for a missing deployment.
 */
export async function setUpQueueDashboard(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const login = config.queueDashboard;
  if (login === null) {
    const disabled = (request: FastifyRequest, reply: FastifyReply): FastifyReply =>
      refuse(
        request,
        reply,
        503,
        'Service Unavailable',
        'The queue dashboard is off: set QUEUE_DASHBOARD_USERNAME and QUEUE_DASHBOARD_PASSWORD to turn it on',
      );
    const instance = app.getHttpAdapter().getInstance();
    instance.all(QUEUE_DASHBOARD_PATH, disabled);
    instance.all(`${QUEUE_DASHBOARD_PATH}/*`, disabled);
    return;
  }
  const credentials = new OperatorCredentials(login);
  const queues = Object.values(QueueName).map((name) => app.get<Queue>(getQueueToken(name)));
  await app.register((scope: FastifyInstance) => mountDashboard(scope, credentials, queues));
}
