import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const LOCK_HELD_ELSEWHERE = { state: 'skipped', reason: 'another scheduler holds the lock' } as const;

/** PostgreSQL advisory locks, with which replicas of an app agree that one of them acts. */
@Injectable()
export class AdvisoryLockRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `work` only when this process takes the session-level advisory lock `key`; the lock is
   * held on one dedicated connection for the whole run and released even when `work` fails.
   */
  async runExclusively<T>(key: number, work: () => Promise<T>): Promise<T | typeof LOCK_HELD_ELSEWHERE> {
    const runner = this.dataSource.createQueryRunner();
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
}
