import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';

/**
 * PostgreSQL SQLSTATEs that mean the server is going away or not there yet: class 08 (connection
 * exception), 57P01-57P03 (admin/crash shutdown, cannot connect now, e.g. while starting up).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** node-postgres reports a lost or never-made connection without a SQLSTATE, only in words. */
const CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
];

/** Node's socket errors: the peer refused, dropped or never answered the connection. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Whether an error is Node's report of a socket that could not be opened or broke. */
export function isSocketError(error: unknown): error is Error & { code: string; syscall: string } {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    SOCKET_ERROR_CODES.has(error.code) &&
    'syscall' in error
  );
}

/**
 * An error and what it wraps, outermost first: TypeORM keeps the driver's error in
 * QueryFailedError.driverError, others use `cause`; an AggregateError contributes its first few.
 */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && chain.length < 5 && !chain.includes(current)) {
    chain.push(current);
    if (current instanceof AggregateError) chain.push(...(current.errors as unknown[]).slice(0, 3));
    current = 'driverError' in current ? current.driverError : 'cause' in current ? current.cause : null;
  }
  return chain;
}

/**
 * Whether an error says PostgreSQL itself is unreachable (shut down, restarting, connection lost),
 * as opposed to a statement it rejected: the former is worth retrying once it is back and is
 * nobody's fault, the latter is a bug or bad data.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return errorChain(error).some((link) => {
    if (!(link instanceof Error)) return false;
    // TypeORM releases a transaction's runner when its connection fails; the code here never
    // uses a runner (or the transaction's entity manager) after releasing it, so a statement
    // refused for that is a connection lost.
    if (link instanceof QueryRunnerAlreadyReleasedError || link instanceof QueryRunnerProviderAlreadyReleasedError)
      return true;
    // A statement whose socket broke under it (write EPIPE, read ECONNRESET) never got an answer.
    if (link instanceof QueryFailedError && isSocketError(link.driverError)) return true;
    const code = 'code' in link && typeof link.code === 'string' ? link.code : '';
    return isUnavailableSqlState(code) || CONNECTION_MESSAGES.some((pattern) => pattern.test(link.message));
  });
}
