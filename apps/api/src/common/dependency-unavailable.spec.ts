import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';

import { dependencyPorts, unavailableDependency } from './dependency-unavailable.js';

const PORTS = dependencyPorts('postgresql://app:secret@db.internal:6432/mail', [
  'redis://cache:6380/0',
  'redis://queues/0',
]);

/** A socket error as Node raises it for a refused connection. */
function refused(port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), {
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port,
  });
}

function queryFailed(driverError: Error): Error {
  return new QueryFailedError('SELECT 1', [], driverError);
}

/** A socket error as Node raises it for a connection the peer dropped, naming no peer. */
function dropped(code: 'ECONNRESET' | 'EPIPE', syscall: 'read' | 'write'): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: code === 'EPIPE' ? -32 : -104, syscall });
}

describe('unavailableDependency', () => {
  it('reads the ports of the configured URLs, with the defaults where a URL names none', () => {
    expect(PORTS).toEqual({ database: 6432, redis: [6380, 6379] });
  });

  it('names the database for a refused connection to its port and for shutdown and connection SQLSTATEs', () => {
    expect(unavailableDependency(refused(6432), PORTS)).toBe('database');
    expect(
      unavailableDependency(
        queryFailed(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })),
        PORTS,
      ),
    ).toBe('database');
    expect(
      unavailableDependency(Object.assign(new Error('the database system is starting up'), { code: '57P03' }), PORTS),
    ).toBe('database');
    expect(unavailableDependency(queryFailed(new Error('Connection terminated unexpectedly')), PORTS)).toBe('database');
    expect(unavailableDependency(new Error('timeout exceeded when trying to connect'), PORTS)).toBe('database');
    expect(unavailableDependency(new QueryRunnerAlreadyReleasedError(), PORTS)).toBe('database');
    expect(unavailableDependency(new QueryRunnerProviderAlreadyReleasedError(), PORTS)).toBe('database');
  });

  it('names Redis for commands refused while it is away', () => {
    expect(
      unavailableDependency(new Error("Stream isn't writeable and enableOfflineQueue options is false"), PORTS),
    ).toBe('redis');
    expect(
      unavailableDependency(
        Object.assign(new Error('Reached the max retries per request limit (which is 1).'), {
          name: 'MaxRetriesPerRequestError',
        }),
        PORTS,
      ),
    ).toBe('redis');
    expect(unavailableDependency(new Error('Command timed out'), PORTS)).toBe('redis');
    expect(unavailableDependency(new Error('wrapped', { cause: refused(6380) }), PORTS)).toBe('redis');
  });

  it('names the database for a statement whose connection broke under it', () => {
    expect(unavailableDependency(queryFailed(dropped('EPIPE', 'write')), PORTS)).toBe('database');
    expect(unavailableDependency(queryFailed(dropped('ECONNRESET', 'read')), PORTS)).toBe('database');
  });

  it('takes a connection reset that names no peer and no statement for a backing service going away', () => {
    expect(unavailableDependency(dropped('ECONNRESET', 'read'), PORTS)).toBe('connection');
  });

  it('leaves everything else to be a 500: bugs, query errors, a mail server refusing', () => {
    expect(
      unavailableDependency(new TypeError("Cannot read properties of undefined (reading 'id')"), PORTS),
    ).toBeNull();
    expect(
      unavailableDependency(
        queryFailed(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })),
        PORTS,
      ),
    ).toBeNull();
    expect(unavailableDependency(refused(993), PORTS)).toBeNull();
    expect(unavailableDependency('not an error', PORTS)).toBeNull();
  });
});
