import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { AccountOwned, WithTimestamps } from './shared-columns.js';

export const BULK_ACTION_KINDS = ['seen', 'unseen', 'flag', 'unflag', 'move', 'delete'] as const;
export type BulkActionKind = (typeof BULK_ACTION_KINDS)[number];

export const BULK_ACTION_STATES = ['queued', 'running', 'completed', 'failed'] as const;
export type BulkActionState = (typeof BULK_ACTION_STATES)[number];

/** One message the bulk action could not change, and why. */
export interface BulkActionFailure {
  messageId: string;
  reason: string;
}

/**
 * One bulk request over a set of messages fixed when it was accepted. Each member is a pending
 * message action naming this record; `done` and `failed` count the settled members (a member that
 * already was as asked counts as done at once).
 */
@Entity('bulk_actions')
@Index('idx_bulk_actions_tenant', ['tenantId'])
@Index('idx_bulk_actions_unfinished', ['tenantId', 'createdAt'], { where: `"state" IN ('queued', 'running')` })
export class BulkAction extends WithTimestamps(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_bulk_actions_account' })
  account?: MailAccount;

  @Column({ type: 'varchar', length: 16 })
  action!: BulkActionKind;

  /** The destination of a move; no foreign key, so a folder removed by a sync leaves the record readable. */
  @Column({ name: 'target_folder_id', type: 'uuid', nullable: true })
  targetFolderId!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  state!: BulkActionState;

  @Column({ type: 'integer' })
  total!: number;

  @Column({ type: 'integer', default: 0 })
  done!: number;

  @Column({ type: 'integer', default: 0 })
  failed!: number;

  /** The first failures (BULK_FAILURES_KEPT), with their reasons; `failed` counts them all. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  failures!: BulkActionFailure[];

  /** Why the job as a whole gave up (state `failed`). */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
