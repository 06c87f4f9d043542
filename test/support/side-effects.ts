import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * What a request could leave behind: the rows of every tenant-scoped table for one tenant (read
 * as the database owner, past row-level security) and the keys of a Redis only the API under
 * test uses, where every queued job is a key of its own.
 */
export class SideEffects {
  private constructor(
    private readonly database: pg.Client,
    private readonly redis: Redis,
    private readonly countRows: string,
    private readonly tenant: string,
  ) {}

  static async open(redisUrl: string, tenant: string): Promise<SideEffects> {
    const database = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
    await database.connect();
    const { rows } = await database.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name",
    );
    if (rows.length === 0) throw new Error('no tenant-scoped table found');
    const countRows = `SELECT ${rows.map(({ table_name: table }) => `(SELECT count(*) FROM "${table}" WHERE tenant_id = $1) AS "${table}"`).join(', ')}`;
    return new SideEffects(database, new Redis(redisUrl, { maxRetriesPerRequest: 1 }), countRows, tenant);
  }

  /** Row counts per table and the sorted Redis keys, as one comparable text. */
  async snapshot(): Promise<string> {
    const [{ rows }, keys] = await Promise.all([
      this.database.query<Record<string, string>>(this.countRows, [this.tenant]),
      this.redis.keys('*'),
    ]);
    return JSON.stringify({ rows: rows[0], keys: keys.sort() });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.database.end();
  }
}
