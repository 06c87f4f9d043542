/** `connection`: a backing connection broke mid-request and its socket error names no peer. */
export type UnavailableDependency = 'database' | 'redis' | 'connection';

/** Node's socket errors: the peer refused, dropped or never answered the connection. */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs that mean the server is going away or not there yet: class 08 (connection
 * exception), 57P01-57P03 (admin/crash shutdown, cannot connect now, e.g. while starting up).
 */
function isPostgresUnavailableCode(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** node-postgres reports a lost or never-made connection without a SQLSTATE, only in words. */
const POSTGRES_CONNECTION_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/, /^Client has encountered a connection error and is not queryable/];

/** ioredis refusing a command while Redis is away (offline queue off, retries used up, connection closed, command timeout). */
const REDIS_CONNECTION_MESSAGES = [/enableOfflineQueue options is false/, /^Reached the max retries per request limit/, /^Connection is closed\./, /^Command timed out$/];

function causesOf(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && chain.length < 5 && !chain.includes(current)) {
    chain.push(current);
    if (current instanceof AggregateError) chain.push(...(current.errors as unknown[]).slice(0, 3));
    // TypeORM wraps the driver's error in QueryFailedError.driverError; others use `cause`.
    current = 'driverError' in current ? current.driverError : 'cause' in current ? current.cause : null;
  }
  return chain;
}

/** Where the backing services listen, to tell whose socket a bare ECONNREFUSED came from. */
export interface DependencyPorts {
  database: number;
  redis: number[];
}

/** The ports of the apps' PostgreSQL and Redis URLs (defaults when a URL names none). */
export function dependencyPorts(databaseUrl: string, redisUrls: string[]): DependencyPorts {
  const portOf = (url: string, fallback: number): number => Number(new URL(url).port || fallback);
  return { database: portOf(databaseUrl, 5432), redis: redisUrls.map((url) => portOf(url, 6379)) };
}

/**
 * Which backing service an unhandled error says is unreachable, or null for anything else. A
 * request that failed because PostgreSQL or Redis is down is the service being unavailable (503,
 * worth retrying), not a bug (500).
 */
export function unavailableDependency(error: unknown, ports: DependencyPorts): UnavailableDependency | null {
  for (const link of causesOf(error)) {
    if (!(link instanceof Error)) continue;
    const name = link.constructor.name;
    const code = 'code' in link && typeof link.code === 'string' ? link.code : '';
    if (name === 'MaxRetriesPerRequestError' || REDIS_CONNECTION_MESSAGES.some((pattern) => pattern.test(link.message))) return 'redis';
    if (isPostgresUnavailableCode(code) || POSTGRES_CONNECTION_MESSAGES.some((pattern) => pattern.test(link.message))) return 'database';
    // A refused or dropped socket names its peer's port; a mail server's is not ours to report.
    if (SOCKET_ERROR_CODES.has(code) && 'port' in link) {
      if (link.port === ports.database) return 'database';
      if (typeof link.port === 'number' && ports.redis.includes(link.port)) return 'redis';
    }
    // A connection reset mid-statement (read ECONNRESET) carries no port: the request met a
    // backing service going away, worth retrying, whichever it was.
    if (SOCKET_ERROR_CODES.has(code) && !('port' in link) && 'syscall' in link) return 'connection';
  }
  return null;
}
