import { DomainError } from '@app/errors';

/** The body says nothing usable about how to log in: no credential, two of them, or an unknown provider. */
export class AccountAuthInvalidError extends DomainError {
  readonly code = 'account_auth_invalid';
}

export type AccountsErrorCode = AccountAuthInvalidError['code'];
