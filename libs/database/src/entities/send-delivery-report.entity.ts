import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { SendRecord } from './send-record.entity.js';
import { AccountOwned, WithCreatedAt } from './shared-columns.js';

/** `failed`: the recipient's server gave up (a bounce). `delayed`: it is still trying. */
export const DELIVERY_REPORT_ACTIONS = ['failed', 'delayed'] as const;
export type DeliveryReportAction = (typeof DELIVERY_REPORT_ACTIONS)[number];

/**
 * What a bounce or delay notice synced into the sender's mailbox says about one recipient of a
 * send. One row per (send, recipient, action), whichever notice, folder or re-sync names it again.
 */
@Entity('send_delivery_reports')
@Unique('uq_send_delivery_reports_recipient', ['sendRecordId', 'recipient', 'action'])
@Index('idx_send_delivery_reports_account', ['accountId'])
export class SendDeliveryReport extends WithCreatedAt(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => SendRecord, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'send_record_id', foreignKeyConstraintName: 'fk_send_delivery_reports_send' })
  sendRecord?: SendRecord;

  @Column({ name: 'send_record_id', type: 'uuid' })
  sendRecordId!: string;

  /** Lower-cased address. */
  @Column({ type: 'text' })
  recipient!: string;

  @Column({ type: 'varchar', length: 16 })
  action!: DeliveryReportAction;

  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  status!: string | null;

  /** The remote server's reply as the notice quotes it. */
  @Column({ type: 'text', nullable: true })
  diagnostic!: string | null;

  /** mailbox_unknown, mailbox_full, spam_rejected, … (BOUNCE_CATEGORIES of the mail lib). */
  @Column({ type: 'varchar', length: 32 })
  category!: string;

  /** When the notice was written (its Date), else when it arrived. */
  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;
}
