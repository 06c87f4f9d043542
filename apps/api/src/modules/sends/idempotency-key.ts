import { createHash } from 'node:crypto';

import type { SendRecord } from '@app/database';
import { BadRequestException } from '@nestjs/common';
import { configure } from 'safe-stable-stringify';

import { IdempotencyKeyReusedError } from './errors.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Sorted keys, so `{a, b}` and `{b, a}` are one request; strict, so a value JSON cannot carry fails loudly instead of vanishing. */
const stringifySorted = configure({ deterministic: true, strict: true });

function canonicalJson(value: object): string {
  const json = stringifySorted(value);
  // The typings allow undefined (for a function or symbol given at the top level); an object never yields it.
  if (json === undefined) throw new TypeError('the request has no JSON form');
  return json;
}

/** `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): any printable ASCII, up to 255 characters here. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(value))
    throw new BadRequestException('Idempotency-Key must be 1-255 printable ASCII characters');
  return value;
}

export type SendOperation = 'compose' | 'send-draft';

/** An Idempotency-Key and the fingerprint of the request that came with it. */
export interface IdempotentRequest {
  key: string;
  fingerprint: string;
}

/**
 * The fingerprint is SHA-256 over the canonical JSON of what was asked for: the validated body of
 * POST /api/compose, the draft id of POST /api/compose/send/{draftId}. The operation is part of
 * it, so one key cannot serve both endpoints. Null without a key: nothing to compare then.
 */
export function idempotentRequest(
  key: string | null,
  operation: SendOperation,
  request: unknown,
): IdempotentRequest | null {
  if (key === null) return null;
  return { key, fingerprint: createHash('sha256').update(canonicalJson({ operation, request })).digest('hex') };
}

/**
 * A key seen again must come with the same request: a different one is a client bug (a reused
 * key) whose message would otherwise be dropped while the client believes it was sent. Sends
 * stored without a fingerprint (created before fingerprints were kept) are taken as matching.
 */
export function assertSameRequest(record: SendRecord, request: IdempotentRequest | null): void {
  if (request === null || record.requestFingerprint === null || record.requestFingerprint === request.fingerprint)
    return;
  throw new IdempotencyKeyReusedError(request.key);
}
