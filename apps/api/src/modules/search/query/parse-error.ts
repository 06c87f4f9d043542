/** A query that does not parse; `position` is the 1-based character (code point) where the problem is. */
export class SearchParseError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
    this.name = 'SearchParseError';
  }
}
