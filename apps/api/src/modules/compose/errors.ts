import { DomainError } from '@app/errors';

export class DraftNotFoundError extends DomainError {
  readonly code = 'draft_not_found';

  constructor(readonly draftId: string) {
    super(`Draft ${draftId} not found`);
  }
}

/** Optimistic concurrency: the edit names a version of the draft that is no longer the stored one. */
export class DraftVersionConflictError extends DomainError {
  readonly code = 'draft_version_conflict';

  constructor(
    readonly draftId: string,
    readonly givenVersion: number,
    readonly currentVersion: number,
  ) {
    super(`Draft ${draftId} was changed meanwhile: the edit is based on version ${givenVersion}, the stored version is ${currentVersion}`);
  }
}

/** A send of the draft is queued or under way: the draft is frozen until it ends. */
export class DraftBeingSentError extends DomainError {
  readonly code = 'draft_being_sent';

  constructor(draftId: string, sendId: string, state: string) {
    super(`Draft ${draftId} is being sent (send ${sendId}, ${state}) and can no longer change`);
  }
}

export class SendNotFoundError extends DomainError {
  readonly code = 'send_not_found';

  constructor(readonly sendId: string) {
    super(`Send ${sendId} not found`);
  }
}

/** An Idempotency-Key seen again with a different request: a client bug whose message would otherwise be dropped unseen. */
export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'idempotency_key_reused';

  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used for a different request within the last 24 hours; nothing was sent. Use a new key for a new message.`);
  }
}

export type ComposeErrorCode = (DraftNotFoundError | DraftVersionConflictError | DraftBeingSentError | SendNotFoundError | IdempotencyKeyReusedError)['code'];
