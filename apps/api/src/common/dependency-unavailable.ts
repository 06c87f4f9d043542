import { errorChain, isDatabaseUnavailable, isSocketError } from '@app/database';

/** `connection`: a backing connection broke mid-request and its socket error names no peer. */
export type UnavailableDependency = 'database' | 'redis' | 'connection';

/** ioredis refusing a command while Redis is away (offline queue off, retries used up, connection closed, command timeout). */
const REDIS_CONNECTION_MESSAGES = [
  /enableOfflineQueue options is false/,
  /^Reached the max retries per request limit/,
  /^Connection is closed\./,
  /^Command timed out$/,
];

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
  for (const link of errorChain(error)) {
    if (!(link instanceof Error)) continue;
    const name = link.constructor.name;
    if (name === 'MaxRetriesPerRequestError' || REDIS_CONNECTION_MESSAGES.some((pattern) => pattern.test(link.message)))
      return 'redis';
    if (isDatabaseUnavailable(link)) return 'database';
    // A refused or dropped socket names its peer's port; a mail server's is not ours to report.
    if (isSocketError(link) && 'port' in link) {
      if (link.port === ports.database) return 'database';
      if (typeof link.port === 'number' && ports.redis.includes(link.port)) return 'redis';
    }
    // A connection reset mid-statement (read ECONNRESET) carries no port: the request met a
    // backing service going away, worth retrying, whichever it was.
    if (isSocketError(link) && !('port' in link)) return 'connection';
  }
  return null;
}
