import { DomainError } from '@app/errors';

/** The cursor predates what the change log keeps: the client has missed changes and must read everything again. */
export class ChangeCursorExpiredError extends DomainError {
  readonly code = 'changes_cursor_expired';

  constructor(since: number, prunedThrough: number) {
    super(
      `Changes up to ${prunedThrough} have been deleted (CHANGES_RETENTION_DAYS) and the cursor ${since} is older: resync the account and start from the state it returns`,
    );
  }
}

/** A cursor ahead of the log: not one this account's log issued (another account's, or made up). */
export class UnknownChangeCursorError extends DomainError {
  readonly code = 'changes_cursor_unknown';

  constructor(since: number, lastSeq: number) {
    super(
      `The cursor ${since} is ahead of the account's change log (at ${lastSeq}): it was not issued for this account`,
    );
  }
}

export type ChangesErrorCode = ChangeCursorExpiredError['code'] | UnknownChangeCursorError['code'];
