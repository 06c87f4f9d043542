import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A caller-chosen id is echoed only if it is short and printable, so it cannot forge log lines. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify assigns `id` to the raw request before middleware runs (from our genReqId), so the
 * logger, the error body and the response header all share one id.
 */
export function requestIdFrom(req: IncomingMessage & { id?: unknown }): string {
  if (typeof req.id === 'string' && req.id !== '') return req.id;
  return generateRequestId(req.headers[REQUEST_ID_HEADER]);
}

export function generateRequestId(incoming: string | string[] | undefined): string {
  const candidate = Array.isArray(incoming) ? incoming[0] : incoming;
  return candidate !== undefined && ACCEPTABLE_REQUEST_ID.test(candidate) ? candidate : randomUUID();
}
