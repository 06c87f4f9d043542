/**
 * A failure the caller can act on — a thing that does not exist, a conflict, input a server
 * refused — as opposed to a bug or a broken configuration. `code` is a stable snake_case name
 * clients may branch on; it never changes once published, while the message may. The API maps
 * each code to its HTTP status in one table (apps/api/src/common/error-codes.ts); libs know
 * nothing of HTTP.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
