import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { DataSource, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import type { EntityManager, ObjectLiteral } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

import { TenantContext } from './tenant-context.js';
import { queryAsTenant } from './tenant-statement.js';

const ACTIVE_TRANSACTION = 'tenantTransaction';

interface ActiveTransaction {
  tenantId: string;
  manager: EntityManager;
}

/** SQL with `:name` placeholders and their values, as TypeORM's query builder takes them. */
export interface NamedStatement {
  sql: string;
  parameters: ObjectLiteral;
}

/**
 * Every read and write of tenant-owned tables goes through here. It opens a transaction, sets
 * `app.tenant_id` for it (transaction-local), and so PostgreSQL's row-level security hides every
 * other tenant's rows even from a query that forgot its tenant filter. Nested calls join the
 * transaction already open for the same tenant, so a service can compose repository calls
 * atomically.
 */
@Injectable()
export class TenantScope {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly context: TenantContext,
  ) {}

  async transaction<T>(work: (manager: EntityManager, tenantId: string) => Promise<T>): Promise<T> {
    const tenantId = this.context.tenantId;
    const active = this.context.get<ActiveTransaction>(ACTIVE_TRANSACTION);
    if (active && active.tenantId === tenantId) return work(active.manager, tenantId);

    // TypeORM releases a transaction's runner when its connection fails, and every statement after
    // that (the commit too) reports only that the runner, or the manager holding it, was released. What broke the connection is
    // kept so callers learn that the database went away, not that a runner was misused.
    let connection: pg.PoolClient | undefined;
    let lost: Error | undefined;
    const onConnectionError = (error: Error): void => {
      lost = error;
    };
    try {
      return await this.dataSource.transaction(async (manager) => {
        connection = (manager.queryRunner as { databaseConnection?: pg.PoolClient } | undefined)?.databaseConnection;
        connection?.on('error', onConnectionError);
        await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
        const transaction: ActiveTransaction = { tenantId, manager };
        return this.context.with(ACTIVE_TRANSACTION, transaction, () => work(manager, tenantId));
      });
    } catch (error: unknown) {
      if (
        error instanceof QueryRunnerAlreadyReleasedError ||
        error instanceof QueryRunnerProviderAlreadyReleasedError
      ) {
        // This transaction never releases its runner itself: only a broken connection does that.
        // When the break came before the listener was on, say so with the SQLSTATE of one (08006).
        throw (
          lost ??
          Object.assign(new Error('the database connection was lost mid-transaction', { cause: error }), {
            code: '08006',
          })
        );
      }
      throw error;
    } finally {
      connection?.removeListener('error', onConnectionError);
    }
  }

  /**
   * One statement in the tenant's scope, for reads and writes that need nothing else atomic with them: in
   * one round trip to PostgreSQL (TenantStatement) rather than the transaction's four, or inside
   * the transaction already open for the tenant.
   */
  async query<Row extends ObjectLiteral>(build: (tenantId: string) => NamedStatement): Promise<Row[]> {
    const tenantId = this.context.tenantId;
    const { sql, parameters } = build(tenantId);
    const [text, values] = this.dataSource.driver.escapeQueryWithParameters(sql, parameters);
    const active = this.context.get<ActiveTransaction>(ACTIVE_TRANSACTION);
    // The structured result has the rows whatever the statement (EntityManager.query answers an UPDATE with [rows, count]).
    if (active && active.tenantId === tenantId && active.manager.queryRunner)
      return (await active.manager.queryRunner.query(text, values, true)).records as Row[];

    // A pooled connection as is: a query runner would add its bookkeeping to every request.
    const [client, release] = (await (this.dataSource.driver as PostgresDriver).obtainMasterConnection()) as [
      pg.PoolClient,
      (error?: Error) => void,
    ];
    // A connection that fails also emits 'error' on the client, which would end the process
    // unheard; the statement rejects anyway, and the pool must not hand that client out again.
    let failure: Error | undefined;
    const onError = (error: Error): void => {
      failure = error;
    };
    client.on('error', onError);
    try {
      return await queryAsTenant<Row>(client, tenantId, text, values as unknown[]);
    } catch (error: unknown) {
      // A connection that breaks mid-statement rejects with the socket's own error (read
      // ECONNRESET), which names no peer; give it PostgreSQL's port, as a refused connect has, so
      // callers can tell the database went away from any other socket failure.
      if (error instanceof Error && 'syscall' in error && !('port' in error))
        Object.assign(error, { port: client.port });
      throw error;
    } finally {
      client.removeListener('error', onError);
      release(failure);
    }
  }
}
