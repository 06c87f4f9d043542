import { jest } from '@jest/globals';
import type { AppConfig } from '@app/config';
import {
  BulkActionTooLargeError,
  DuplicateAccountError,
  InvalidCursorError,
  MessageActionBusyError,
  MessageActionTargetNotFoundError,
  MessageScopeNotFoundError,
} from '@app/database';
import { DomainError } from '@app/errors';
import {
  AccountNotFoundError,
  AccountReauthRequiredError,
  ImapPoolExhaustedError,
  ImapTimeoutError,
  LoginTestRejectedError,
  MailServerConnectionError,
  MailServerLoginError,
  MailServerUnreachableError,
  MessagePartGoneError,
  OAuthProviderUnavailableError,
  OAuthTokenEndpointError,
  OutboundRefusedError,
} from '@app/mail';
import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';

import { InvalidTokenError } from '../auth/errors.js';
import { AccountAuthInvalidError } from '../modules/accounts/errors.js';
import { BulkActionNotFoundError, InvalidBulkRequestError } from '../modules/bulk-actions/errors.js';
import { DraftBeingSentError, DraftNotFoundError, DraftVersionConflictError } from '../modules/drafts/errors.js';
import {
  AttachmentNotFoundError,
  MessageBeingMovedError,
  MessageNotFoundError,
  UnsubscribeNotOfferedError,
  UnsubscribeRefusedError,
} from '../modules/messages/errors.js';
import {
  OAuthAuthorizationFailedError,
  OAuthProviderNotFoundError,
  OAuthStateInvalidError,
} from '../modules/oauth/errors.js';
import { SearchParseError } from '../modules/search/errors.js';
import {
  IdempotencyKeyReusedError,
  SendAlreadyFailedError,
  SendAlreadySentError,
  SendAtTooFarAheadError,
  SendNotFoundError,
} from '../modules/sends/errors.js';
import { ThreadNotFoundError } from '../modules/threads/errors.js';
import { ChangeCursorExpiredError, UnknownChangeCursorError } from '../modules/changes/errors.js';
import {
  WebhookDeliveryNotFoundError,
  WebhookNotFoundError,
  WebhookTargetNotAllowedError,
  WebhookUrlInvalidError,
} from '../modules/webhooks/errors.js';
import { AllExceptionsFilter } from './all-exceptions.filter.js';
import type { ErrorBody } from './all-exceptions.filter.js';
import { DOMAIN_ERRORS } from './error-codes.js';

const config = {
  databaseUrl: 'postgresql://app@db:5432/mail',
  redis: { url: 'redis://cache:6379/0', queueUrl: 'redis://cache:6379/1' },
} as AppConfig;

interface Answer {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

function answer(exception: unknown): Answer {
  const sent: Answer = { status: 0, body: {} as ErrorBody, headers: {} };
  const reply = {
    status: (status: number) => ((sent.status = status), reply),
    header: (name: string, value: string) => ((sent.headers[name] = value), reply),
    send: (body: ErrorBody) => ((sent.body = body), reply),
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => ({ id: 'req-1' }), getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter(config).catch(exception, host);
  return sent;
}

/** One of every domain error the API can meet, with the status and message clients have always been given. */
const EVERY_DOMAIN_ERROR: [DomainError, number, string][] = [
  [new InvalidCursorError(), 400, 'cursor is not valid'],
  [new SearchParseError('unexpected ")"', 4), 400, 'invalid search query: unexpected ")" at position 4'],
  [new InvalidTokenError('jwt expired'), 401, 'Invalid token: jwt expired'],
  [new AccountNotFoundError('a-1'), 404, 'account a-1 not found'],
  [new AccountNotFoundError('a-1', 'Account a-1 not found'), 404, 'Account a-1 not found'],
  [new MessageScopeNotFoundError('account'), 404, 'account not found'],
  [new MessageScopeNotFoundError('folder'), 404, 'folder not found'],
  [new MessageActionTargetNotFoundError('message'), 404, 'message not found'],
  [new MessageNotFoundError('m-1'), 404, 'message m-1 not found'],
  [new ThreadNotFoundError('t-1'), 404, 'thread t-1 not found'],
  [new AttachmentNotFoundError('m-1', 'p-2'), 404, 'attachment p-2 of message m-1 not found'],
  [new DraftNotFoundError('d-1'), 404, 'Draft d-1 not found'],
  [new SendNotFoundError('s-1'), 404, 'Send s-1 not found'],
  [
    new SendAtTooFarAheadError('2027-03-01T00:00:00Z', 30),
    400,
    'sendAt 2027-03-01T00:00:00Z is more than 30 days ahead; nothing was stored',
  ],
  [
    new MessagePartGoneError('part 2 of UID 7 is no longer in INBOX'),
    404,
    'part 2 of UID 7 is no longer in INBOX; sync the account to refresh it',
  ],
  [
    new UnknownChangeCursorError(99, 42),
    400,
    "The cursor 99 is ahead of the account's change log (at 42): it was not issued for this account",
  ],
  [new ChangeCursorExpiredError(2, 7), 410, expect.stringContaining('resync the account') as string],
  [
    new WebhookTargetNotAllowedError('169.254.169.254', 80, 'the host is not a public internet address'),
    400,
    'Webhooks to 169.254.169.254 port 80 are not allowed: the host is not a public internet address',
  ],
  [
    new WebhookUrlInvalidError('it must not carry credentials'),
    400,
    'The webhook URL is not usable: it must not carry credentials',
  ],
  [new WebhookNotFoundError('w-1'), 404, 'Webhook w-1 not found'],
  [new WebhookDeliveryNotFoundError('d-1'), 404, 'Delivery d-1 not found for this webhook'],
  [new UnsubscribeNotOfferedError(null), 422, 'The message names no way to unsubscribe (no List-Unsubscribe header)'],
  [new UnsubscribeRefusedError('HTTP 500'), 502, "The list's unsubscribe address did not accept the request: HTTP 500"],
  [new DuplicateAccountError('a@example.com'), 409, 'an account for a@example.com already exists'],
  [
    new DraftVersionConflictError('d-1', 2, 3),
    409,
    'Draft d-1 was changed meanwhile: the edit is based on version 2, the stored version is 3',
  ],
  [
    new DraftBeingSentError('d-1', 's-1', 'sending'),
    409,
    'Draft d-1 is being sent (send s-1, sending) and can no longer change',
  ],
  [
    new DraftBeingSentError('d-1', 's-1', 'queued'),
    409,
    'Draft d-1 is being sent (send s-1, queued) and can no longer change unless the send is cancelled (POST /api/compose/outbox/s-1/cancel)',
  ],
  [
    new MessageActionBusyError(),
    409,
    'a move or delete of this message is still being applied on the server; try again in a moment',
  ],
  [new MessageBeingMovedError(), 409, 'the message is being moved on the server; try again in a moment'],
  [new SendAlreadySentError('s-1', 'sent'), 409, 'Send s-1 is sent and can no longer be cancelled'],
  [new SendAlreadyFailedError('s-1'), 409, 'Send s-1 failed and will not be sent; there is nothing to cancel'],
  [new BulkActionNotFoundError('b-1'), 404, 'bulk action b-1 not found'],
  [
    new InvalidBulkRequestError('`move` needs `folder`, the destination'),
    400,
    '`move` needs `folder`, the destination',
  ],
  [
    new BulkActionTooLargeError(10_000),
    422,
    'the request selects more than 10000 messages; narrow the query or split the ids',
  ],
  [new IdempotencyKeyReusedError('k'), 422, expect.stringContaining('Idempotency-Key "k" was already used') as string],
  [
    new OutboundRefusedError('10.0.0.1', 143, 'a private address', 'detail'),
    422,
    'Connections to 10.0.0.1 port 143 are not allowed: a private address',
  ],
  [new LoginTestRejectedError('IMAP', 'NO bad password'), 422, 'IMAP login failed: NO bad password'],
  [
    new MailServerUnreachableError('SMTP', 'mx', 587, 'ECONNREFUSED'),
    422,
    expect.stringContaining('SMTP login failed: could not connect to mx port 587') as string,
  ],
  [new MailServerLoginError('IMAP', 'NO locked'), 502, 'IMAP login failed: NO locked'],
  [
    new MailServerConnectionError('connect ECONNREFUSED'),
    502,
    'the IMAP server could not be reached: connect ECONNREFUSED',
  ],
  [new ImapPoolExhaustedError(8, 5000), 503, 'every IMAP connection of this server is busy; try again shortly'],
  [
    new ImapTimeoutError('download', 3000),
    504,
    'the IMAP server did not answer in time (IMAP download timed out after 3000 ms)',
  ],
  [
    new AccountAuthInvalidError('give either password or auth, not both'),
    400,
    'give either password or auth, not both',
  ],
  [
    new AccountReauthRequiredError('a-1', 'invalid_grant'),
    409,
    'account a-1 needs to be authorised again: invalid_grant',
  ],
  [
    new OAuthTokenEndpointError('google', 'it answered 503'),
    502,
    'the token endpoint of google failed: it answered 503',
  ],
  [
    new OAuthProviderUnavailableError('google', 'no client id is configured'),
    422,
    'OAuth2 provider google cannot be used: no client id is configured',
  ],
  [new OAuthProviderNotFoundError('x'), 404, 'provider x is not configured: see GET /api/providers'],
  [new OAuthStateInvalidError('the state has expired'), 400, 'the state has expired'],
  [
    new OAuthAuthorizationFailedError('the provider did not authorise the account: access_denied'),
    422,
    'the provider did not authorise the account: access_denied',
  ],
];

describe('AllExceptionsFilter', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it.each(EVERY_DOMAIN_ERROR)('answers %p with its status, code and message', (error, status, message) => {
    const sut = answer(error);

    expect(sut.status).toBe(status);
    expect(sut.body).toEqual({
      statusCode: status,
      error: expect.any(String) as string,
      code: error.code,
      message,
      requestId: 'req-1',
    });
    expect(sut.headers).not.toHaveProperty('retry-after');
  });

  it('has a status for every code, and every code in the table is one some error carries', () => {
    const carried = new Set(EVERY_DOMAIN_ERROR.map(([error]) => error.code));

    expect([...carried].sort()).toEqual(Object.keys(DOMAIN_ERRORS).sort());
  });

  it('answers an unknown error with 500 internal_error and nothing of the error', () => {
    const sut = answer(new Error('password=hunter2 at /srv/app/secret.ts:12'));

    expect(sut.status).toBe(500);
    expect(sut.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      code: 'internal_error',
      message: 'Internal server error',
      requestId: 'req-1',
    });
  });

  it('answers a domain error whose code has no status as a 500, not with its message', () => {
    class UnmappedError extends DomainError {
      readonly code = 'not_in_the_table';
    }

    expect(answer(new UnmappedError('internal detail')).body).toMatchObject({
      statusCode: 500,
      code: 'internal_error',
      message: 'Internal server error',
    });
  });

  it('gives framework and HTTP errors the generic code of their status', () => {
    expect(answer(new BadRequestException(['to must be a list', 'subject too long'])).body).toMatchObject({
      statusCode: 400,
      code: 'validation_failed',
      details: ['to must be a list', 'subject too long'],
    });
    expect(answer(new NotFoundException('Cannot GET /api/nope')).body).toMatchObject({
      statusCode: 404,
      code: 'not_found',
      message: 'Cannot GET /api/nope',
    });
    expect(
      answer(new HttpException('ThrottlerException: Too Many Requests', HttpStatus.TOO_MANY_REQUESTS)).body,
    ).toMatchObject({ statusCode: 429, code: 'rate_limited' });
    expect(answer(new ServiceUnavailableException('Sending is disabled')).body).toMatchObject({
      statusCode: 503,
      code: 'service_unavailable',
    });
    expect(answer(Object.assign(new Error('Body is too large'), { statusCode: 413 })).body).toMatchObject({
      statusCode: 413,
      code: 'payload_too_large',
    });
  });

  it('keeps a code an HTTP exception carries', () => {
    expect(answer(new UnprocessableEntityException({ message: 'nope', code: 'custom_code' })).body).toMatchObject({
      statusCode: 422,
      code: 'custom_code',
      message: 'nope',
    });
  });

  it('answers an unreachable database with 503 service_unavailable and Retry-After', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      port: 5432,
    });
    const sut = answer(refused);

    expect(sut.body).toMatchObject({
      statusCode: 503,
      code: 'service_unavailable',
      message: 'The database is unavailable; try again shortly',
    });
    expect(sut.headers['retry-after']).toBe('5');
  });
});
