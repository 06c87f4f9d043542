import { DomainError } from '@app/errors';

/** A query that does not parse; `position` is the 1-based character (code point) where the problem is. */
export class SearchParseError extends DomainError {
  readonly code = 'invalid_search_query';

  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
  }
}

export type SearchErrorCode = SearchParseError['code'];
