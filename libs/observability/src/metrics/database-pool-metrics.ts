import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/** The counters node-postgres keeps on its pool; TypeORM's Postgres driver holds the pool as `master`. */
interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

function poolOf(dataSource: DataSource): PoolCounts | null {
  const pool: unknown = (dataSource.driver as { master?: unknown }).master;
  if (typeof pool !== 'object' || pool === null) return null;
  const counts = pool as Partial<PoolCounts>;
  return typeof counts.totalCount === 'number' &&
    typeof counts.idleCount === 'number' &&
    typeof counts.waitingCount === 'number'
    ? (counts as PoolCounts)
    : null;
}

/** Read from the pool when scraped: nothing to keep up to date between scrapes. */
export class DatabasePoolMetrics {
  constructor(registry: Registry, dataSource: DataSource) {
    new Gauge({
      name: 'database_connection_pool_size',
      help: 'PostgreSQL connections of this app: state="total" open, "idle" open and unused, "waiting" queries queued for a connection',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const pool = poolOf(dataSource);
        if (pool === null) return;
        this.labels('total').set(pool.totalCount);
        this.labels('idle').set(pool.idleCount);
        this.labels('waiting').set(pool.waitingCount);
      },
    });
  }
}
