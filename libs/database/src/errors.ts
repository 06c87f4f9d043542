import { DomainError } from '@app/errors';

/** A page cursor that this service did not issue, or that was altered. */
export class InvalidCursorError extends DomainError {
  readonly code = 'invalid_cursor';

  constructor() {
    super('cursor is not valid');
  }
}

export class DuplicateAccountError extends DomainError {
  readonly code = 'account_already_exists';

  constructor(readonly email: string) {
    super(`an account for ${email} already exists`);
  }
}

/** The requested account or folder does not exist for this tenant. */
export class MessageScopeNotFoundError extends DomainError {
  readonly code: 'account_not_found' | 'folder_not_found';

  constructor(readonly scope: 'account' | 'folder') {
    super(`${scope} not found`);
    this.code = `${scope}_not_found`;
  }
}

export class MessageActionTargetNotFoundError extends DomainError {
  readonly code: 'message_not_found' | 'folder_not_found';

  constructor(readonly kind: 'message' | 'folder') {
    super(`${kind} not found`);
    this.code = `${kind}_not_found`;
  }
}

/** A move or delete of the message is still being applied: where it will sit on the server is not known yet. */
export class MessageActionBusyError extends DomainError {
  readonly code = 'message_action_pending';

  constructor() {
    super('a move or delete of this message is still being applied on the server; try again in a moment');
  }
}

/** A bulk action selects more messages than one request may change. */
export class BulkActionTooLargeError extends DomainError {
  readonly code = 'bulk_action_too_large';

  constructor(readonly maxMessages: number) {
    super(`the request selects more than ${maxMessages} messages; narrow the query or split the ids`);
  }
}

export type DatabaseErrorCode = (
  | InvalidCursorError
  | DuplicateAccountError
  | MessageScopeNotFoundError
  | MessageActionTargetNotFoundError
  | MessageActionBusyError
  | BulkActionTooLargeError
)['code'];
