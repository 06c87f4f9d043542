import { createHash } from 'node:crypto';

import pg from 'pg';
import type { Connection, QueryResult, QueryResultRow } from 'pg';

/** Sets the tenant for the row-level security policies; `true` makes it local to the transaction. */
export const SET_TENANT_SQL = `SELECT set_config('app.tenant_id', $1, true)`;

/**
 * Statements a connection keeps prepared. Search builds its SQL from the query's structure, so the
 * texts are not a fixed set: the least recently used is closed past this many.
 */
export const PREPARED_PER_CONNECTION = 100;

const SET_TENANT_STATEMENT = 'tenant_set';
/**
 * SET_TENANT_SQL for prepared statements, which also keeps each execution planned for its own
 * values: one plan cached for every search would fit some words and not others (a word in most
 * messages is best found through the recency index, a rare one through the text index).
 */
const SET_TENANT_PREPARED_SQL = `SELECT set_config('app.tenant_id', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)`;

/** The protocol hooks of pg's Query that this class extends; @types/pg does not declare them. */
interface QueryProtocolHooks {
  prepare(connection: Connection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: Connection): void;
  handleError(error: Error, connection: Connection): void;
}

/** What pg's Connection records of named statements; @types/pg does not declare it either. */
interface StatementBook {
  parsedStatements: Record<string, string>;
  close(message: { type: 'S'; name: string }): void;
}

const queryHooks = pg.Query.prototype as unknown as QueryProtocolHooks;

/** Per connection, the names of the statements it holds prepared, least recently used first. */
const preparedNames = new WeakMap<Connection, Set<string>>();

/** The statement's name on every connection: its text decides it, so one name never means two texts. */
function statementName(text: string): string {
  return `tenant_${createHash('sha1').update(text).digest('base64url')}`;
}

/**
 * One statement run as a tenant in a single round trip. It sends, before one Sync, the
 * extended-protocol messages of `SET_TENANT_SQL` and then those of the statement. PostgreSQL runs
 * everything up to a Sync as one implicit transaction: the transaction-local setting holds for
 * the statement and ends with it, and if setting it fails the server skips the statement. The
 * tenant and every value of the statement travel as bound parameters.
 *
 * The same isolation as BEGIN, set_config, statement, COMMIT, in one round trip instead of four.
 * Both statements are named and stay prepared on the connection, so a repeated statement skips
 * PostgreSQL's parse and rewrite (row-level security included); each execution is still planned
 * for its own values.
 */
export class TenantStatement<Row extends QueryResultRow> extends pg.Query<Row> {
  /** Set by pg's Query from the config. */
  declare readonly text: string;
  declare readonly values: unknown[];
  declare readonly name: string;
  /** Whether the reply to SET_TENANT_SQL is over, so what follows belongs to the statement. */
  private tenantSet = false;

  constructor(
    private readonly tenantId: string,
    text: string,
    values: unknown[],
    callback: (error: Error | undefined, result: QueryResult<Row>) => void,
  ) {
    super({ text, values, name: statementName(text) }, callback);
  }

  /** Always the extended protocol: the simple one cannot carry the tenant as a parameter. */
  requiresPreparation(): boolean {
    return true;
  }

  prepare(connection: Connection): void {
    const book = connection as unknown as StatementBook;
    const names = preparedNames.get(connection) ?? new Set<string>();
    preparedNames.set(connection, names);
    if (book.parsedStatements[SET_TENANT_STATEMENT] === undefined) {
      connection.parse({ name: SET_TENANT_STATEMENT, text: SET_TENANT_PREPARED_SQL, types: [] }, true);
      book.parsedStatements[SET_TENANT_STATEMENT] = SET_TENANT_PREPARED_SQL;
    }
    connection.bind({ statement: SET_TENANT_STATEMENT, values: [this.tenantId] }, true);
    connection.execute({}, true);

    if (book.parsedStatements[this.name] !== undefined) {
      names.delete(this.name);
    } else {
      // A statement a failed round trip may or may not have created: closing a name that does
      // not exist is no error (PostgreSQL's Close message), so the Parse below always succeeds.
      book.close({ type: 'S', name: this.name });
      for (const oldest of names) {
        if (names.size < PREPARED_PER_CONNECTION) break;
        names.delete(oldest);
        book.close({ type: 'S', name: oldest });
        delete book.parsedStatements[oldest];
      }
    }
    names.add(this.name);
    queryHooks.prepare.call(this, connection);
  }

  handleDataRow(message: unknown): void {
    if (this.tenantSet) queryHooks.handleDataRow.call(this, message);
  }

  handleCommandComplete(message: unknown, connection: Connection): void {
    if (this.tenantSet) queryHooks.handleCommandComplete.call(this, message, connection);
    else this.tenantSet = true;
  }

  /**
   * pg counts the statement as parsed on the first ParseComplete of the round trip, which may be
   * that of SET_TENANT_SQL; after an error it is uncertain, so the next use prepares it again.
   */
  handleError(error: Error, connection: Connection): void {
    delete (connection as unknown as StatementBook).parsedStatements[this.name];
    preparedNames.get(connection)?.delete(this.name);
    queryHooks.handleError.call(this, error, connection);
  }
}

/** Runs `text` with `values` on `client` as `tenantId` (see TenantStatement) and returns its rows. */
export async function queryAsTenant<Row extends QueryResultRow>(
  client: pg.ClientBase,
  tenantId: string,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    client.query(
      new TenantStatement<Row>(tenantId, text, values, (error, result) => {
        if (error) reject(error);
        else resolve(result.rows);
      }),
    );
  });
}
