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
    super(
      `Draft ${draftId} was changed meanwhile: the edit is based on version ${givenVersion}, the stored version is ${currentVersion}`,
    );
  }
}

/** A send of the draft is queued (perhaps held until its sendAt) or under way: the draft is frozen until it ends or is cancelled. */
export class DraftBeingSentError extends DomainError {
  readonly code = 'draft_being_sent';

  constructor(draftId: string, sendId: string, state: string) {
    super(
      state === 'queued'
        ? `Draft ${draftId} is being sent (send ${sendId}, queued) and can no longer change unless the send is cancelled (POST /api/compose/outbox/${sendId}/cancel)`
        : `Draft ${draftId} is being sent (send ${sendId}, ${state}) and can no longer change`,
    );
  }
}

export type DraftErrorCode = (DraftNotFoundError | DraftVersionConflictError | DraftBeingSentError)['code'];
