import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { AccountOwned, WithCreatedAt } from './shared-columns.js';

export const SYNC_RUN_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type SyncRunState = (typeof SYNC_RUN_STATES)[number];

export const SYNC_TRIGGERS = ['manual', 'schedule', 'push'] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

export interface SyncRunStats {
  foldersSynced: number;
  messagesAdded: number;
  messagesUpdated: number;
  messagesRemoved: number;
}

/** One execution of the sync job for an account: what started it, how it went. */
@Entity('sync_runs')
@Index('idx_sync_runs_account_created', ['tenantId', 'accountId', 'createdAt'])
export class SyncRun extends WithCreatedAt(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_sync_runs_account' })
  account?: MailAccount;

  @Column({ name: 'job_id', type: 'varchar', length: 255, nullable: true })
  jobId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  trigger!: SyncTrigger;

  @Column({ type: 'boolean', default: false })
  full!: boolean;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  state!: SyncRunState;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  stats!: SyncRunStats | null;
}
