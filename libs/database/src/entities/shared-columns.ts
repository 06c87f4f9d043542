import { Column, CreateDateColumn, UpdateDateColumn } from 'typeorm';

/*
 * Columns the tenant tables share, declared once: base classes and mixins that entities extend.
 * TypeORM collects the columns of an entity's whole prototype chain (classes without @Entity are
 * no tables of their own), so these decorated properties become columns of every entity below
 * them. It lists inherited columns first in the SQL it generates; rows are mapped by column name,
 * so that order is no behaviour, and a table's own column order is the migrations'.
 */

/** Any abstract or concrete class; entities are constructed by TypeORM without arguments. */
type AbstractConstructor = abstract new (...args: never[]) => object;

/** The class a mixin returns: Base's instances, plus the properties the mixin declares. */
type Mixed<TBase extends AbstractConstructor, TAdded> = abstract new () => InstanceType<TBase> & TAdded;

/**
 * What a mixin's class extends: Base seen as a constructor without arguments and of fixed instance
 * type, which a class may extend (TypeScript's own mixin pattern needs a constructor taking `any[]`).
 */
function parent<T extends object>(Base: abstract new (...args: never[]) => T): abstract new () => T {
  return Base;
}

/** The root for an entity that owns none of the columns below but takes a mixin (Tenant). */
export abstract class EntityRoot {}

/** A row of one tenant; row-level security compares `tenant_id` with `app.tenant_id` (migration TenantIsolation). */
export abstract class TenantOwned {
  @Column({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;
}

/** A row of one mail account of the tenant. The relation and its foreign key stay on each entity. */
export abstract class AccountOwned extends TenantOwned {
  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;
}

export interface CreatedAt {
  createdAt: Date;
}

export interface Timestamps extends CreatedAt {
  updatedAt: Date;
}

/** When the row was inserted. */
export function WithCreatedAt<TBase extends AbstractConstructor>(Base: TBase): Mixed<TBase, CreatedAt> {
  abstract class WithCreatedAt extends parent(Base) implements CreatedAt {
    @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
    createdAt!: Date;
  }
  return WithCreatedAt as Mixed<TBase, CreatedAt>;
}

/** When the row was inserted and last saved. */
export function WithTimestamps<TBase extends AbstractConstructor>(Base: TBase): Mixed<TBase, Timestamps> {
  abstract class WithTimestamps extends parent<CreatedAt>(WithCreatedAt(Base)) implements Timestamps {
    @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
    updatedAt!: Date;
  }
  return WithTimestamps as Mixed<TBase, Timestamps>;
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

/** The columns of SyncBackoff. */
export function WithSyncBackoff<TBase extends AbstractConstructor>(Base: TBase): Mixed<TBase, SyncBackoff> {
  abstract class WithSyncBackoff extends parent(Base) implements SyncBackoff {
    @Column({ name: 'last_error', type: 'text', nullable: true })
    lastError!: string | null;

    @Column({ name: 'last_error_at', type: 'timestamptz', nullable: true })
    lastErrorAt!: Date | null;

    /** Consecutive failed syncs; drives the backoff before the next scheduled attempt. */
    @Column({ name: 'failure_count', type: 'integer', default: 0 })
    failureCount!: number;

    /** Until then scheduled syncs leave the account or folder alone (a manual sync still tries it). */
    @Column({ name: 'next_sync_after', type: 'timestamptz', nullable: true })
    nextSyncAfter!: Date | null;
  }
  return WithSyncBackoff as Mixed<TBase, SyncBackoff>;
}
