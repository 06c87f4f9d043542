import { AppConfig } from '@app/config';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { dependencyPorts, unavailableDependency } from './dependency-unavailable.js';
import type { DependencyPorts } from './dependency-unavailable.js';

/** What a client is told to wait before retrying a request that met a dependency outage (seconds). */
const RETRY_AFTER_OUTAGE_SECONDS = 5;

const UNAVAILABLE_MESSAGE = {
  database: 'The database is unavailable; try again shortly',
  redis: 'The queue and cache store (Redis) is unavailable; try again shortly',
  connection: 'A connection to a backing service was lost; try again shortly',
} as const;

/** What every error response looks like; clients rely on these keys. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
  /** A stable name for the error that clients may branch on, when the exception carries one. */
  code?: string;
  /** Per-field problems of a rejected request body or query. */
  details?: string[];
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase().split('_').map((word) => word[0]?.toUpperCase() + word.slice(1)).join(' ') : 'Error';
}

/**
 * Nest's HttpException bodies carry `message` as a string or, from the ValidationPipe, a list;
 * an exception built with `{ message, code }` passes its code on to the client.
 */
function describeHttpException(exception: HttpException): Pick<ErrorBody, 'message' | 'code' | 'details'> {
  const response = exception.getResponse();
  if (typeof response === 'string') return { message: response };
  const { message, code } = response as { message?: unknown; code?: unknown };
  const coded = typeof code === 'string' && code !== '' ? { code } : {};
  if (Array.isArray(message)) {
    const details = message.map(String);
    return { message: details.join('; '), ...coded, details };
  }
  return { message: typeof message === 'string' ? message : exception.message, ...coded };
}

/**
 * The only place errors become responses: HTTP exceptions keep their status and message,
 * Fastify's own client errors (bad JSON, body too large) keep theirs, an unreachable PostgreSQL
 * or Redis is a 503 naming it (with Retry-After), and anything else is a 500 whose details go to
 * the log under the request id, never to the client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);
  private readonly ports: DependencyPorts;

  constructor(config: AppConfig) {
    this.ports = dependencyPorts(config.databaseUrl, [config.redis.url, config.redis.queueUrl]);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = this.toBody(exception, request.id);
    if (body.statusCode === 503 && !(exception instanceof HttpException)) {
      // An outage is logged once per request as a warning: the health check and metrics carry it, not a stack per request.
      this.logger.warn({ request_id: request.id, reason: exception instanceof Error ? exception.message : String(exception) }, body.message);
      void reply.header('retry-after', String(RETRY_AFTER_OUTAGE_SECONDS));
    } else if (body.statusCode >= 500) {
      this.logger.error({ err: exception, request_id: request.id }, `Unhandled error answered with ${body.statusCode}`);
    }
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      return { statusCode, error: reasonPhrase(statusCode), ...describeHttpException(exception), requestId };
    }
    const clientError = fastifyClientError(exception);
    if (clientError) return { ...clientError, error: reasonPhrase(clientError.statusCode), requestId };
    const dependency = unavailableDependency(exception, this.ports);
    if (dependency) return { statusCode: 503, error: reasonPhrase(503), message: UNAVAILABLE_MESSAGE[dependency], requestId };
    return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', requestId };
  }
}

/** Fastify rejects malformed requests (invalid JSON, oversized or unsupported bodies) with a 4xx `statusCode`. */
function fastifyClientError(exception: unknown): { statusCode: number; message: string } | null {
  if (!(exception instanceof Error) || !('statusCode' in exception)) return null;
  const statusCode = exception.statusCode;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return null;
  return { statusCode, message: exception.message };
}
