import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { AccountOwned, WithSyncBackoff, WithTimestamps } from './shared-columns.js';

export const SPECIAL_USE_ROLES = ['inbox', 'drafts', 'sent', 'trash', 'junk', 'archive', 'all', 'flagged'] as const;
export type SpecialUseRole = (typeof SPECIAL_USE_ROLES)[number];

/**
 * One IMAP mailbox of an account, with the counters that decide how the next sync proceeds
 * (RFC 3501 UIDVALIDITY/UIDNEXT, RFC 7162 HIGHESTMODSEQ).
 */
@Entity('mail_folders')
@Unique('uq_mail_folders_account_path', ['accountId', 'path'])
@Index('idx_mail_folders_tenant', ['tenantId'])
export class MailFolder extends WithTimestamps(WithSyncBackoff(AccountOwned)) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_mail_folders_account' })
  account?: MailAccount;

  @Column({ type: 'text' })
  path!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'varchar', length: 8, nullable: true })
  delimiter!: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  role!: SpecialUseRole | null;

  /** Bigint columns come back as strings from pg; UIDs fit in 32 bits, modseqs need 63. */
  @Column({ name: 'uid_validity', type: 'bigint', nullable: true })
  uidValidity!: string | null;

  @Column({ name: 'uid_next', type: 'bigint', nullable: true })
  uidNext!: string | null;

  /**
   * The UID ranges of this UIDVALIDITY whose messages are stored (or were found gone), written with
   * each batch and read and merged in SQL only (FolderRepository); never loaded with the entity.
   */
  @Column({ name: 'stored_uids', type: 'int8multirange', default: () => "'{}'", select: false })
  storedUids!: string;

  /** UIDNEXT when the folder's latest sync began: the top its newest page is measured against. */
  @Column({ name: 'sync_uid_next', type: 'bigint', nullable: true })
  syncUidNext!: string | null;

  @Column({ name: 'highest_modseq', type: 'bigint', nullable: true })
  highestModseq!: string | null;

  @Column({ name: 'last_uid', type: 'bigint', default: 0 })
  lastUid!: string;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount!: number;

  @Column({ name: 'unseen_count', type: 'integer', default: 0 })
  unseenCount!: number;

  @Column({ name: 'synced_count', type: 'integer', default: 0 })
  syncedCount!: number;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;
}
