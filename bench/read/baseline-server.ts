import { encodeCursor } from '@app/database';
import type { MessageSummaryRow } from '@app/database';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';

import { MessageSummaryDto } from '../../apps/api/src/modules/messages/dto/message-summary.dto.js';

export interface CapturedQuery {
  sql: string;
  values: unknown[];
}

/**
 * The floor the API is measured against: Fastify and a pg pool running, per request, the very
 * statement the API ran (captured from its connection), inside the same tenant-scoped
 * transaction (BEGIN, set_config app.tenant_id, query, COMMIT), shaped into the same JSON. No
 * Nest, no TypeORM, no validation, no authentication.
 */
export async function startBaseline(
  databaseUrl: string,
  poolSize: number,
  tenantId: string,
  routes: Record<string, CapturedQuery>,
  limit: number,
): Promise<{ server: FastifyInstance; pool: pg.Pool; url: string }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const server = Fastify({ logger: false });
  for (const [path, query] of Object.entries(routes)) {
    server.get(path, async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
        const { rows } = await client.query<MessageSummaryRow & { cursorAt: string }>(query.sql, query.values);
        await client.query('COMMIT');
        const items = rows.slice(0, limit);
        const last = items.at(-1);
        return {
          items: items.map((row) => MessageSummaryDto.from(row)),
          nextCursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: last.id }) : null,
        };
      } catch (error: unknown) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    });
  }
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, pool, url };
}
