import { DomainError } from '@app/errors';

/** The bearer token does not verify (signature, expiry, algorithm) or carries a malformed claim. */
export class InvalidTokenError extends DomainError {
  readonly code = 'invalid_token';
}

export type AuthErrorCode = InvalidTokenError['code'];
