import { encodeCursor } from '@app/database';
import type { MessageSummaryRow } from '@app/database';
import { queryAsTenant, SET_TENANT_SQL } from '@app/tenancy';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';

import { MessageSummaryDto } from '../../apps/api/src/modules/messages/dto/message-summary.dto.js';

export interface CapturedQuery {
  sql: string;
  values: unknown[];
  /** Sent as a TenantStatement: the tenant set and the statement run in one round trip. */
  asTenant: boolean;
}

/**
 * The floor the API is measured against: Fastify and a pg pool running, per request, the very
 * statement the API ran (captured from its connection), scoped to the tenant the same way (in one
 * round trip as a TenantStatement, or BEGIN, set_config app.tenant_id, query, COMMIT), shaped into
 * the same JSON. No Nest, no TypeORM, no validation, no authentication.
 */
type SummaryRow = MessageSummaryRow & { cursorAt: string };

export async function startBaseline(
  databaseUrl: string,
  poolSize: number,
  tenantId: string,
  routes: Record<string, CapturedQuery>,
  limit: number,
  port = 0,
): Promise<{ server: FastifyInstance; pool: pg.Pool; url: string }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const server = Fastify({ logger: false });
  for (const [path, query] of Object.entries(routes)) {
    server.get(path, async () => {
      const client = await pool.connect();
      try {
        let rows: SummaryRow[];
        if (query.asTenant) {
          rows = await queryAsTenant<SummaryRow>(client, tenantId, query.sql, query.values);
        } else {
          await client.query('BEGIN');
          await client.query(SET_TENANT_SQL, [tenantId]);
          ({ rows } = await client.query<SummaryRow>(query.sql, query.values));
          await client.query('COMMIT');
        }
        const items = rows.slice(0, limit);
        const last = items.at(-1);
        return {
          items: items.map((row) => MessageSummaryDto.from(row)),
          nextCursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
        };
      } catch (error: unknown) {
        if (!query.asTenant) await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    });
  }
  const url = await server.listen({ host: '127.0.0.1', port });
  return { server, pool, url };
}
