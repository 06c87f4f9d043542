import { DomainError } from '@app/errors';

/**
 * The callback's `state` was not issued by this service, was altered, has expired, belongs to
 * another provider or was used already. Nothing was exchanged or stored.
 */
export class OAuthStateInvalidError extends DomainError {
  readonly code = 'oauth_state_invalid';
}

/** The user declined, or the provider's answer names no mailbox address the account could use. */
export class OAuthAuthorizationFailedError extends DomainError {
  readonly code = 'oauth_authorization_failed';
}

/** The path names no configured provider. */
export class OAuthProviderNotFoundError extends DomainError {
  readonly code = 'oauth_provider_not_found';

  constructor(readonly provider: string) {
    super(`provider ${provider} is not configured: see GET /api/providers`);
  }
}

export type OAuthErrorCode =
  OAuthStateInvalidError['code'] | OAuthAuthorizationFailedError['code'] | OAuthProviderNotFoundError['code'];
