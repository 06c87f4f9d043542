import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import { generateRequestId, REQUEST_ID_HEADER } from '@app/observability';

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import type { ErrorBody } from './all-exceptions.filter.js';
import { httpErrorCode } from './error-codes.js';

/** What Node's HTTP parser raises; `code` names the rule the request broke (HPE_INVALID_HEADER_TOKEN, …). */
type HttpParserError = Error & { code?: string };

/**
 * Answers a request Node's HTTP parser refused before Fastify saw it — a header value holding
 * U+0000 or another control character, a malformed request line, headers over 16 KiB (431) —
 * with the API's error body, as Fastify's default would without a request id. The connection is
 * closed afterwards: the parser cannot tell where the next request would start.
 */
export function answerHttpClientError(error: HttpParserError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, message] = describe(error.code);
  const requestId = generateRequestId(undefined);
  const body: ErrorBody = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Bad Request',
    code: httpErrorCode(statusCode),
    message,
    requestId,
  };
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusCode} ${body.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(error);
}

function describe(code: string | undefined): [number, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'The request line and headers are too large'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'The request was not received in time'];
  return [
    400,
    `The request is not valid HTTP (${code ?? 'unknown'}): a header holds a character HTTP does not allow, such as U+0000, or the request line is malformed`,
  ];
}

/**
 * Answers what Fastify's router refuses before any hook or Nest handler runs: a path whose
 * percent-encoding is not UTF-8 (FST_ERR_BAD_URL, 400, e.g. `%ED%A0%80`, a lone surrogate), a
 * path parameter over its length limit (414). Without this, Fastify's default body would go out,
 * without the request id.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const statusCode =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message = error.code === 'FST_ERR_BAD_URL' ? 'The path is not valid percent-encoded UTF-8' : error.message;
  const body: ErrorBody = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Bad Request',
    code: httpErrorCode(statusCode),
    message,
    requestId: request.id,
  };
  void reply
    .status(statusCode)
    .header(REQUEST_ID_HEADER, request.id)
    .header('content-type', 'application/json; charset=utf-8')
    .send(body);
}
