import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { TenantOwned } from './shared-columns.js';

export const WATCH_STATES = ['watching', 'polling', 'backoff', 'off'] as const;
/**
 * watching: INBOX in IDLE; polling: checked every WATCH_POLL_SECONDS (connection cap reached, or
 * no IDLE on the server); backoff: waiting to reconnect after a lost connection; off: not
 * watched (login refused, account deactivated, or just claimed and not connected yet).
 */
export type WatchState = (typeof WATCH_STATES)[number];

/** One worker replica's claim on watching an account, and the watch's visible state. */
@Entity('account_watch_leases')
@Index('idx_account_watch_leases_tenant_owner', ['tenantId', 'owner'])
export class AccountWatchLease extends TenantOwned {
  @PrimaryColumn({ name: 'account_id', type: 'uuid', primaryKeyConstraintName: 'PK_account_watch_leases' })
  accountId!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_account_watch_leases_account' })
  account?: MailAccount;

  /** The replica holding the claim; null once released. */
  @Column({ type: 'text', nullable: true })
  owner!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'varchar', length: 16 })
  state!: WatchState;

  /** When `state` last changed. */
  @Column({ type: 'timestamptz', default: () => 'now()' })
  since!: Date;

  @Column({ name: 'last_event_at', type: 'timestamptz', nullable: true })
  lastEventAt!: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}
