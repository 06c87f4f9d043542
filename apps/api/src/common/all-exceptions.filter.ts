import { AppConfig } from '@app/config';
import { DomainError } from '@app/errors';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { dependencyPorts, unavailableDependency } from './dependency-unavailable.js';
import type { DependencyPorts } from './dependency-unavailable.js';
import { DOMAIN_ERRORS, httpErrorCode, INTERNAL_ERROR_CODE } from './error-codes.js';

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
  /** A stable name for the error that clients may branch on (error-codes.ts). */
  code: string;
  message: string;
  requestId: string;
  /** Per-field problems of a rejected request body or query. */
  details?: string[];
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name
    ? name
        .toLowerCase()
        .split('_')
        .map((word) => word[0]?.toUpperCase() + word.slice(1))
        .join(' ')
    : 'Error';
}

/**
 * Nest's HttpException bodies carry `message` as a string or, from the ValidationPipe, a list;
 * an exception built with `{ message, code }` passes its code on, any other gets its status's.
 */
function describeHttpException(exception: HttpException): Pick<ErrorBody, 'message' | 'code' | 'details'> {
  const response = exception.getResponse();
  const fallback = httpErrorCode(exception.getStatus());
  if (typeof response === 'string') return { code: fallback, message: response };
  const { message, code: given } = response as { message?: unknown; code?: unknown };
  const code = typeof given === 'string' && given !== '' ? given : fallback;
  if (Array.isArray(message)) {
    const details = message.map(String);
    return { code, message: details.join('; '), details };
  }
  return { code, message: typeof message === 'string' ? message : exception.message };
}

/** A domain error's answer from the one table of codes; null for a code the table does not know, which is a bug (500). */
function describeDomainError(error: DomainError): Pick<ErrorBody, 'statusCode' | 'code' | 'message'> | null {
  const answer = (DOMAIN_ERRORS as Partial<Record<string, (typeof DOMAIN_ERRORS)[keyof typeof DOMAIN_ERRORS]>>)[
    error.code
  ];
  if (answer === undefined) return null;
  return {
    statusCode: answer.status,
    code: error.code,
    message: answer.message ? answer.message(error) : error.message,
  };
}

/**
 * The only place errors become responses: domain errors get the status their code maps to
 * (error-codes.ts), HTTP exceptions keep their status and message,
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
    if (body.statusCode === 503 && !(exception instanceof HttpException) && !(exception instanceof DomainError)) {
      // An outage is logged once per request as a warning: the health check and metrics carry it, not a stack per request.
      this.logger.warn(
        { request_id: request.id, reason: exception instanceof Error ? exception.message : String(exception) },
        body.message,
      );
      void reply.header('retry-after', String(RETRY_AFTER_OUTAGE_SECONDS));
    } else if (body.statusCode >= 500) {
      this.logger.error({ err: exception, request_id: request.id }, `Unhandled error answered with ${body.statusCode}`);
    }
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toBody(exception: unknown, requestId: string): ErrorBody {
    const domain = exception instanceof DomainError ? describeDomainError(exception) : null;
    if (domain)
      return {
        statusCode: domain.statusCode,
        error: reasonPhrase(domain.statusCode),
        code: domain.code,
        message: domain.message,
        requestId,
      };
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      return { statusCode, error: reasonPhrase(statusCode), ...describeHttpException(exception), requestId };
    }
    const clientError = fastifyClientError(exception);
    if (clientError) {
      const { statusCode, message } = clientError;
      return { statusCode, error: reasonPhrase(statusCode), code: httpErrorCode(statusCode), message, requestId };
    }
    const dependency = unavailableDependency(exception, this.ports);
    if (dependency)
      return {
        statusCode: 503,
        error: reasonPhrase(503),
        code: httpErrorCode(503),
        message: UNAVAILABLE_MESSAGE[dependency],
        requestId,
      };
    return {
      statusCode: 500,
      error: 'Internal Server Error',
      code: INTERNAL_ERROR_CODE,
      message: 'Internal server error',
      requestId,
    };
  }
}

/** Fastify rejects malformed requests (invalid JSON, oversized or unsupported bodies) with a 4xx `statusCode`. */
function fastifyClientError(exception: unknown): { statusCode: number; message: string } | null {
  if (!(exception instanceof Error) || !('statusCode' in exception)) return null;
  const statusCode = exception.statusCode;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return null;
  return { statusCode, message: exception.message };
}
