import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, VersionColumn } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import type { MailAddress } from './mail-message.entity.js';
import { AccountOwned, WithTimestamps } from './shared-columns.js';

export interface DraftAttachment {
  filename: string;
  contentType: string;
  size: number;
  /** Where the bytes are kept until the draft is sent or deleted. */
  storageKey: string;
}

/** A message being written. The version guards concurrent edits (optimistic concurrency). */
@Entity('drafts')
@Index('idx_drafts_tenant_account', ['tenantId', 'accountId'])
export class Draft extends WithTimestamps(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_drafts_account' })
  account?: MailAccount;

  @Column({ name: 'to', type: 'jsonb', default: () => "'[]'" })
  to!: MailAddress[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  cc!: MailAddress[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  bcc!: MailAddress[];

  @Column({ type: 'text', default: '' })
  subject!: string;

  @Column({ name: 'text_body', type: 'text', nullable: true })
  textBody!: string | null;

  @Column({ name: 'html_body', type: 'text', nullable: true })
  htmlBody!: string | null;

  @Column({ name: 'in_reply_to', type: 'text', nullable: true })
  inReplyTo!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  references!: string[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  attachments!: DraftAttachment[];

  /** Where the IMAP copy in Drafts lives, so an update can replace it. */
  @Column({ name: 'imap_uid', type: 'bigint', nullable: true })
  imapUid!: string | null;

  @Column({ name: 'imap_uid_validity', type: 'bigint', nullable: true })
  imapUidValidity!: string | null;

  /** The version the IMAP Drafts copy shows; behind `version` while a mirror job is owed. */
  @Column({ name: 'mirrored_version', type: 'integer', nullable: true })
  mirroredVersion!: number | null;

  @VersionColumn()
  version!: number;
}
