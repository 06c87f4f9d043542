import type { DatabaseErrorCode } from '@app/database';
import type { DomainError } from '@app/errors';
import type { MailErrorCode } from '@app/mail';
import { HttpStatus } from '@nestjs/common';

import type { AuthErrorCode } from '../auth/errors.js';
import type { AccountsErrorCode } from '../modules/accounts/errors.js';
import type { BulkActionsErrorCode } from '../modules/bulk-actions/errors.js';
import type { ChangesErrorCode } from '../modules/changes/errors.js';
import type { DraftErrorCode } from '../modules/drafts/errors.js';
import type { SendErrorCode } from '../modules/sends/errors.js';
import type { MessagesErrorCode } from '../modules/messages/errors.js';
import type { OAuthErrorCode } from '../modules/oauth/errors.js';
import type { SearchErrorCode } from '../modules/search/errors.js';
import type { ThreadsErrorCode } from '../modules/threads/errors.js';
import type { WebhookErrorCode } from '../modules/webhooks/errors.js';

export type DomainErrorCode =
  | DatabaseErrorCode
  | MailErrorCode
  | AuthErrorCode
  | DraftErrorCode
  | SendErrorCode
  | MessagesErrorCode
  | BulkActionsErrorCode
  | SearchErrorCode
  | ThreadsErrorCode
  | WebhookErrorCode
  | ChangesErrorCode
  | AccountsErrorCode
  | OAuthErrorCode;

interface DomainErrorAnswer {
  status: HttpStatus;
  /** What the code means to a client; published in the OpenAPI document. */
  description: string;
  /** What the client is told when it is not the error's own message (which may carry detail meant for the log). */
  message?: (error: DomainError) => string;
}

/**
 * Every domain error's HTTP answer, in one place: services and guards let domain errors
 * propagate and AllExceptionsFilter answers them from here. A code missing from this table does
 * not compile; a DomainError whose code is not here anyway is answered as a 500.
 */
export const DOMAIN_ERRORS: Readonly<Record<DomainErrorCode, DomainErrorAnswer>> = {
  invalid_cursor: {
    status: HttpStatus.BAD_REQUEST,
    description: 'The page cursor was not issued by this service or was altered',
  },
  invalid_search_query: {
    status: HttpStatus.BAD_REQUEST,
    description: 'The search query does not parse; the message names the 1-based character position',
    message: (error) => `invalid search query: ${error.message}`,
  },
  invalid_token: {
    status: HttpStatus.UNAUTHORIZED,
    description: 'The bearer token does not verify (signature, expiry, algorithm) or its tenant claim is malformed',
    message: (error) => `Invalid token: ${error.message}`,
  },
  changes_cursor_unknown: {
    status: HttpStatus.BAD_REQUEST,
    description: 'The change cursor is ahead of the account’s log: it was issued for another account or made up',
  },
  changes_cursor_expired: {
    status: HttpStatus.GONE,
    description:
      'The change cursor is older than CHANGES_RETENTION_DAYS keeps: resync the account and follow from the new state',
  },
  webhook_target_not_allowed: {
    status: HttpStatus.BAD_REQUEST,
    description:
      'OUTBOUND_POLICY refuses the webhook URL’s host or port (in `public` mode: loopback, private, link-local … addresses); nothing connected to it',
  },
  webhook_url_invalid: {
    status: HttpStatus.BAD_REQUEST,
    description: 'The webhook URL carries credentials or its host does not resolve',
  },
  unsubscribe_not_offered: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description:
      'The message names no unsubscribe address this service can use (none, or only a web page for the user)',
  },
  unsubscribe_refused: {
    status: HttpStatus.BAD_GATEWAY,
    description: 'The list’s one-click unsubscribe address answered with an error or not at all',
  },
  send_at_too_far_ahead: {
    status: HttpStatus.BAD_REQUEST,
    description: 'The `sendAt` of a send is more than 30 days ahead; nothing was stored',
  },
  account_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such account for the tenant' },
  webhook_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such webhook for the tenant' },
  webhook_delivery_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such delivery of the webhook' },
  folder_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such folder in the account' },
  message_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such message for the tenant' },
  bulk_action_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such bulk action for the tenant' },
  invalid_bulk_request: {
    status: HttpStatus.BAD_REQUEST,
    description: 'A bulk request names both or neither of `query` and `ids`, or a move without its `folder`',
  },
  bulk_action_too_large: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description: 'A bulk request selects more than 10,000 messages; narrow the query or split the ids',
  },
  thread_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such thread for the tenant' },
  attachment_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such attachment of the message' },
  draft_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such draft for the tenant' },
  send_not_found: { status: HttpStatus.NOT_FOUND, description: 'No such send for the tenant' },
  message_part_gone: {
    status: HttpStatus.NOT_FOUND,
    description: 'The attachment is no longer where the last sync saw it on the IMAP server; sync the account',
    message: (error) => `${error.message}; sync the account to refresh it`,
  },
  account_already_exists: {
    status: HttpStatus.CONFLICT,
    description: 'The tenant already has an account with this email address',
  },
  draft_version_conflict: {
    status: HttpStatus.CONFLICT,
    description: 'The draft changed since the version the edit is based on; fetch it and retry',
  },
  draft_being_sent: {
    status: HttpStatus.CONFLICT,
    description:
      'A send of the draft is queued (perhaps scheduled) or under way; the draft can no longer change unless the send is cancelled',
  },
  send_already_sent: {
    status: HttpStatus.CONFLICT,
    description: 'The send has left (or is being handed to the SMTP server) and can no longer be cancelled',
  },
  send_already_failed: {
    status: HttpStatus.CONFLICT,
    description: 'The send failed for good; there is nothing to cancel',
  },
  message_action_pending: {
    status: HttpStatus.CONFLICT,
    description: 'A move or delete of the message is still being applied on the server; try again shortly',
  },
  idempotency_key_reused: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description: 'The Idempotency-Key was used within 24 hours for a different request; nothing was sent',
  },
  mail_host_not_allowed: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description: 'The outbound policy refuses the IMAP or SMTP server; nothing connected to it',
  },
  mail_login_rejected: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description: 'The login test with the given settings was refused by the server (the message is its reason)',
  },
  mail_server_unreachable: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description:
      'The login test could not connect to the server or finish TLS (the same answer whatever the socket said)',
  },
  mail_server_login_failed: {
    status: HttpStatus.BAD_GATEWAY,
    description: "The account's IMAP server refused its stored credentials",
  },
  mail_server_connection_failed: {
    status: HttpStatus.BAD_GATEWAY,
    description: "The account's IMAP server could not be reached or dropped the connection",
  },
  mail_connections_busy: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    description: 'Every IMAP connection of this server is busy; try again shortly',
    message: () => 'every IMAP connection of this server is busy; try again shortly',
  },
  mail_server_timeout: {
    status: HttpStatus.GATEWAY_TIMEOUT,
    description: "The account's IMAP server did not answer in time",
    message: (error) => `the IMAP server did not answer in time (${error.message})`,
  },
  account_auth_invalid: {
    status: HttpStatus.BAD_REQUEST,
    description:
      'The account body gives no credential, both `password` and `auth`, or names a provider that GET /api/providers does not list',
  },
  oauth_provider_not_found: {
    status: HttpStatus.NOT_FOUND,
    description: 'The path names no provider of GET /api/providers',
  },
  oauth_state_invalid: {
    status: HttpStatus.BAD_REQUEST,
    description:
      'The OAuth2 callback’s state was not issued by this service, was altered, expired (10 minutes) or was used already; nothing was stored',
  },
  oauth_authorization_failed: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description:
      'The provider did not authorise the account (the user declined), granted no refresh token, or named no mailbox address',
  },
  account_reauth_required: {
    status: HttpStatus.CONFLICT,
    description:
      'The OAuth2 provider refused the account’s refresh token (revoked, expired, password changed): store new tokens with PUT /api/accounts/{id} or run the authorisation flow again',
  },
  oauth_token_endpoint_failed: {
    status: HttpStatus.BAD_GATEWAY,
    description: 'The OAuth2 provider’s token or userinfo endpoint failed or did not answer; try again later',
  },
  oauth_provider_unavailable: {
    status: HttpStatus.UNPROCESSABLE_ENTITY,
    description: 'The provider is not configured in OAUTH_PROVIDERS, has no client id, or takes passwords, not tokens',
  },
};

/** The code of an error that is not a domain error — refused by validation, the framework or a guard — by its status. */
const HTTP_ERROR_CODES = {
  [HttpStatus.BAD_REQUEST]: 'validation_failed',
  [HttpStatus.UNAUTHORIZED]: 'unauthorized',
  [HttpStatus.FORBIDDEN]: 'forbidden',
  [HttpStatus.NOT_FOUND]: 'not_found',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'method_not_allowed',
  [HttpStatus.REQUEST_TIMEOUT]: 'request_timeout',
  [HttpStatus.CONFLICT]: 'conflict',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'payload_too_large',
  [HttpStatus.URI_TOO_LONG]: 'uri_too_long',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'unsupported_media_type',
  [HttpStatus.UNPROCESSABLE_ENTITY]: 'unprocessable_entity',
  [HttpStatus.TOO_MANY_REQUESTS]: 'rate_limited',
  431: 'headers_too_large',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'internal_error',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'service_unavailable',
} as const;

const HTTP_ERROR_DESCRIPTIONS: Record<
  (typeof HTTP_ERROR_CODES)[keyof typeof HTTP_ERROR_CODES] | 'request_refused',
  string
> = {
  validation_failed:
    'The request is invalid: a body or query field (`details` lists each), a header value, the JSON, or the path',
  unauthorized: 'No bearer token was sent',
  forbidden: 'The tenant header is malformed or does not match the token, or the operator credentials are wrong',
  not_found: 'No such route',
  method_not_allowed: 'The route does not take this method',
  request_timeout: 'The request was not received in time',
  conflict: 'The request conflicts with the current state',
  payload_too_large: 'The body, an upload or the message is over its size limit',
  uri_too_long: 'A path parameter is over its length limit',
  unsupported_media_type: 'The body has a Content-Type the route does not take',
  unprocessable_entity: 'The request is well-formed but cannot be carried out',
  rate_limited: 'Too many requests; Retry-After says when to try again',
  headers_too_large: 'The request line and headers are too large',
  request_refused: 'Another client error',
  internal_error: 'An unexpected failure; its details are logged under the request id, never returned',
  service_unavailable:
    'A backing service (PostgreSQL, Redis) is unavailable or a feature is disabled on this deployment; Retry-After when it is an outage',
};

export const INTERNAL_ERROR_CODE = 'internal_error';

/** The generic code of an HTTP status, for errors without a code of their own. */
export function httpErrorCode(status: number): string {
  const code = (HTTP_ERROR_CODES as Partial<Record<number, string>>)[status];
  if (code !== undefined) return code;
  return status >= 400 && status < 500 ? 'request_refused' : INTERNAL_ERROR_CODE;
}

/** Every code an error body can carry, with its status (null: any status of its class) and meaning, for the API document. */
export function errorCodeCatalogue(): { code: string; status: number | null; description: string }[] {
  const domain = Object.entries(DOMAIN_ERRORS).map(([code, answer]) => ({
    code,
    status: answer.status,
    description: answer.description,
  }));
  const generic = Object.entries(HTTP_ERROR_DESCRIPTIONS).map(([code, description]) => {
    const status = Object.entries(HTTP_ERROR_CODES).find(([, candidate]) => candidate === code)?.[0];
    return { code, status: status === undefined ? null : Number(status), description };
  });
  return [...domain, ...generic];
}
