import { Column, CreateDateColumn, UpdateDateColumn } from 'typeorm';

/*
 * Columns the tenant tables share, declared once. Property decorators rather than a base class or
 * embedded columns: a base class would move its columns to the front of every table's column list
 * (and of the SQL TypeORM generates), and an embedded one would move the properties under a
 * prefix; each entity still says where its shared columns sit.
 */

/** The owning tenant; row-level security compares it with `app.tenant_id` (migration TenantIsolation). */
export function TenantIdColumn(): PropertyDecorator {
  return Column({ name: 'tenant_id', type: 'varchar', length: 64 });
}

export function AccountIdColumn(): PropertyDecorator {
  return Column({ name: 'account_id', type: 'uuid' });
}

export function CreatedAtColumn(): PropertyDecorator {
  return CreateDateColumn({ name: 'created_at', type: 'timestamptz' });
}

export function UpdatedAtColumn(): PropertyDecorator {
  return UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' });
}

/**
 * How an account and each of its folders back off after failed syncs: the scheduler leaves them
 * alone until `nextSyncAfter`, which grows with `failureCount`; a success clears all four.
 */
export interface SyncBackoff {
  lastError: string | null;
  lastErrorAt: Date | null;
  failureCount: number;
  nextSyncAfter: Date | null;
}

/** The columns of SyncBackoff, by property name. */
export const SyncBackoffColumn = {
  lastError: (): PropertyDecorator => Column({ name: 'last_error', type: 'text', nullable: true }),
  lastErrorAt: (): PropertyDecorator => Column({ name: 'last_error_at', type: 'timestamptz', nullable: true }),
  failureCount: (): PropertyDecorator => Column({ name: 'failure_count', type: 'integer', default: 0 }),
  nextSyncAfter: (): PropertyDecorator => Column({ name: 'next_sync_after', type: 'timestamptz', nullable: true }),
} as const satisfies Record<keyof SyncBackoff, () => PropertyDecorator>;
