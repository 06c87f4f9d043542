import type { DataSource } from 'typeorm';

export const LOCK_HELD_ELSEWHERE = { state: 'skipped', reason: 'another scheduler holds the lock' } as const;

/**
 * Runs `work` only when this scheduler replica takes the session-level advisory lock `key`, so
 * that replicas firing the same cron act once; the lock is held on one dedicated connection for
 * the whole run and released even when `work` fails.
 */
export async function runExclusively<T>(dataSource: DataSource, key: number, work: () => Promise<T>): Promise<T | typeof LOCK_HELD_ELSEWHERE> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [row] = (await runner.query('SELECT pg_try_advisory_lock($1) AS "locked"', [key])) as { locked: boolean }[];
    if (!row?.locked) return LOCK_HELD_ELSEWHERE;
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await runner.release();
  }
}
