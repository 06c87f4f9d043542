import { DomainError } from '@app/errors';

/** The `code` of the API's error body when a tenant names a server the policy refuses. */
export const OUTBOUND_REFUSED_CODE = 'mail_host_not_allowed';

/**
 * The account does not exist for the current tenant. The API's account routes have always said
 * `Account … not found` and the mail and sync routes `account … not found`; `message` keeps both.
 */
export class AccountNotFoundError extends DomainError {
  readonly code = 'account_not_found';

  constructor(
    readonly accountId: string,
    message = `account ${accountId} not found`,
  ) {
    super(message);
  }
}

/**
 * A destination refused before any connection was attempted. The message names what the tenant
 * typed and which rule refused it, never what the name resolved to (that would map the internal
 * network); `detail` does, for the log.
 */
export class OutboundRefusedError extends DomainError {
  readonly code = OUTBOUND_REFUSED_CODE;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`Connections to ${host} port ${port} are not allowed: ${reason}`);
  }
}

/** The server refused the login of a stored account (its password changed, the mailbox was locked): the server's answer, not the client's input. */
export class MailServerLoginError extends DomainError {
  readonly code: 'mail_server_login_failed' | 'mail_login_rejected' = 'mail_server_login_failed';

  constructor(
    readonly protocol: 'IMAP' | 'SMTP',
    readonly reason: string,
  ) {
    super(`${protocol} login failed: ${reason}`);
  }
}

/** A login test refused the settings a client sent (account create or update): the settings are at fault. */
export class LoginTestRejectedError extends MailServerLoginError {
  override readonly code = 'mail_login_rejected';
}

/**
 * The login test could not reach the server or finish the TLS handshake. The message is the same
 * whatever the socket said (refused, reset, timeout, certificate), so the answer to an account
 * create cannot be used to scan ports; `detail` says what happened, for the log only.
 */
export class MailServerUnreachableError extends DomainError {
  readonly code = 'mail_server_unreachable';

  constructor(
    readonly protocol: 'IMAP' | 'SMTP',
    readonly host: string,
    readonly port: number,
    readonly detail: string,
  ) {
    super(
      `${protocol} login failed: could not connect to ${host} port ${port} (no answer, connection refused or reset, or TLS failed)`,
    );
  }
}

/** A stored account's IMAP server dropped or refused the connection while serving a request. */
export class MailServerConnectionError extends DomainError {
  readonly code = 'mail_server_connection_failed';

  constructor(readonly reason: string) {
    super(`the IMAP server could not be reached: ${reason}`);
  }
}

export class ImapTimeoutError extends DomainError {
  readonly code = 'mail_server_timeout';

  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`IMAP ${operation} timed out after ${timeoutMs} ms`);
  }
}

/** The pool stayed full for the whole wait: every connection of this process was busy. */
export class ImapPoolExhaustedError extends DomainError {
  readonly code = 'mail_connections_busy';

  constructor(
    readonly size: number,
    readonly waitedMs: number,
  ) {
    super(`all ${size} IMAP connections of this process stayed busy for ${waitedMs} ms`);
  }
}

/** The part is not (or no longer) on the server where the stored copy says it is. */
export class MessagePartGoneError extends DomainError {
  readonly code = 'message_part_gone';
}

/**
 * The provider refused the account's refresh token (`invalid_grant`: revoked, expired, the
 * password changed). The account is `reauth_required` until a client stores new tokens.
 */
export class AccountReauthRequiredError extends DomainError {
  readonly code = 'account_reauth_required';

  constructor(
    readonly accountId: string,
    readonly reason: string,
  ) {
    super(`account ${accountId} needs to be authorised again: ${reason}`);
  }
}

/** The token endpoint did not answer usefully (down, 5xx, malformed): a refresh may succeed later. */
export class OAuthTokenEndpointError extends DomainError {
  readonly code = 'oauth_token_endpoint_failed';

  constructor(
    readonly provider: string,
    readonly detail: string,
  ) {
    super(`the token endpoint of ${provider} failed: ${detail}`);
  }
}

/** An account names an OAuth2 provider that is not (or no longer) configured, or one without a client id. */
export class OAuthProviderUnavailableError extends DomainError {
  readonly code = 'oauth_provider_unavailable';

  constructor(
    readonly provider: string,
    reason = 'it is not configured',
  ) {
    super(`OAuth2 provider ${provider} cannot be used: ${reason}`);
  }
}

export type MailErrorCode = (
  | AccountNotFoundError
  | OutboundRefusedError
  | MailServerLoginError
  | MailServerUnreachableError
  | MailServerConnectionError
  | ImapTimeoutError
  | ImapPoolExhaustedError
  | MessagePartGoneError
  | AccountReauthRequiredError
  | OAuthTokenEndpointError
  | OAuthProviderUnavailableError
)['code'];
