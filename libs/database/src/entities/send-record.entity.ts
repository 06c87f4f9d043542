import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import type { MailAddress } from './mail-message.entity.js';
import { AccountOwned, WithTimestamps } from './shared-columns.js';

export const SEND_STATES = ['queued', 'sending', 'sent', 'failed', 'bounced', 'cancelled'] as const;
export type SendState = (typeof SEND_STATES)[number];

export interface SendContent {
  from: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo: MailAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  inReplyTo: string | null;
  references: string[];
  attachments: { filename: string; contentType: string; size: number; storageKey: string }[];
}

/**
 * A send record: a message the user asked to send and its delivery state machine
 * (queued → sending → sent | failed). The Message-ID is fixed here before the first attempt so
 * that a retry can recognise a message already accepted.
 */
@Entity('send_records')
@Unique('uq_send_records_idempotency', ['tenantId', 'idempotencyKey'])
@Index('idx_send_records_tenant_account', ['tenantId', 'accountId'])
@Index('idx_send_records_message_id', ['accountId', 'messageId'])
@Index('idx_send_records_draft', ['draftId'], { where: `"draft_id" IS NOT NULL` })
export class SendRecord extends WithTimestamps(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_send_records_account' })
  account?: MailAccount;

  @Column({ name: 'draft_id', type: 'uuid', nullable: true })
  draftId!: string | null;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey!: string | null;

  /** SHA-256 of the request that came with the Idempotency-Key, so a replay can be told from a new request reusing the key. */
  @Column({ name: 'request_fingerprint', type: 'char', length: 64, nullable: true })
  requestFingerprint!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  state!: SendState;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ type: 'jsonb' })
  content!: SendContent;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_response', type: 'text', nullable: true })
  lastResponse!: string | null;

  /** Until when the attempt that set the record `sending` holds it; only then may another job take it over. */
  @Column({ name: 'claimed_until', type: 'timestamptz', nullable: true })
  claimedUntil!: Date | null;

  /** When the retry of a transient failure is due (the record is `queued` again until then). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  /**
   * A queued record is held until then: the time the client asked for, or the end of the undo
   * window if later. Null: sent at once. Until it leaves, the client may cancel it (`cancelled`).
   */
  @Column({ name: 'send_at', type: 'timestamptz', nullable: true })
  sendAt!: Date | null;

  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true })
  cancelledAt!: Date | null;

  @Column({ name: 'smtp_accepted_at', type: 'timestamptz', nullable: true })
  smtpAcceptedAt!: Date | null;

  @Column({ name: 'sent_copy_appended_at', type: 'timestamptz', nullable: true })
  sentCopyAppendedAt!: Date | null;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;
}
