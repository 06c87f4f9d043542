import { DomainError } from '@app/errors';

export class BulkActionNotFoundError extends DomainError {
  readonly code = 'bulk_action_not_found';

  constructor(readonly bulkActionId: string) {
    super(`bulk action ${bulkActionId} not found`);
  }
}

/** The fields of a bulk request do not fit together (which messages, or where to move them). */
export class InvalidBulkRequestError extends DomainError {
  readonly code = 'invalid_bulk_request';
}

export type BulkActionsErrorCode = (BulkActionNotFoundError | InvalidBulkRequestError)['code'];
