import pg from 'pg';
import type { Connection, QueryResult, QueryResultRow } from 'pg';

/** Sets the tenant for the row-level security policies; `true` makes it local to the transaction. */
export const SET_TENANT_SQL = `SELECT set_config('app.tenant_id', $1, true)`;

/** The protocol hooks of pg's Query that this class extends; @types/pg does not declare them. */
interface QueryProtocolHooks {
  prepare(connection: Connection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: Connection): void;
}

const queryHooks = pg.Query.prototype as unknown as QueryProtocolHooks;

/**
 * One statement run as a tenant in a single round trip. It sends, before one Sync, the
 * extended-protocol messages of `SET_TENANT_SQL` and then those of the statement. PostgreSQL runs
 * everything up to a Sync as one implicit transaction: the transaction-local setting holds for
 * the statement and ends with it, and if setting it fails the server skips the statement. The
 * tenant and every value of the statement travel as bound parameters.
 *
 * The same isolation as BEGIN, set_config, statement, COMMIT, in one round trip instead of four.
 */
export class TenantStatement<Row extends QueryResultRow> extends pg.Query<Row> {
  /** Set by pg's Query from the config. */
  declare readonly text: string;
  declare readonly values: unknown[];
  /** Whether the reply to SET_TENANT_SQL is over, so what follows belongs to the statement. */
  private tenantSet = false;

  constructor(
    private readonly tenantId: string,
    text: string,
    values: unknown[],
    callback: (error: Error | undefined, result: QueryResult<Row>) => void,
  ) {
    super({ text, values }, callback);
  }

  /** Always the extended protocol: the simple one cannot carry the tenant as a parameter. */
  requiresPreparation(): boolean {
    return true;
  }

  prepare(connection: Connection): void {
    connection.parse({ name: '', text: SET_TENANT_SQL, types: [] }, true);
    connection.bind({ values: [this.tenantId] }, true);
    connection.execute({}, true);
    queryHooks.prepare.call(this, connection);
  }

  handleDataRow(message: unknown): void {
    if (this.tenantSet) queryHooks.handleDataRow.call(this, message);
  }

  handleCommandComplete(message: unknown, connection: Connection): void {
    if (this.tenantSet) queryHooks.handleCommandComplete.call(this, message, connection);
    else this.tenantSet = true;
  }
}

/** Runs `text` with `values` on `client` as `tenantId` (see TenantStatement) and returns its rows. */
export async function queryAsTenant<Row extends QueryResultRow>(client: pg.ClientBase, tenantId: string, text: string, values: unknown[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    client.query(
      new TenantStatement<Row>(tenantId, text, values, (error, result) => {
        if (error) reject(error);
        else resolve(result.rows);
      }),
    );
  });
}
