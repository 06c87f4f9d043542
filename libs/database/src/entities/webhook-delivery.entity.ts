import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { AccountOwned, WithTimestamps } from './shared-columns.js';
import { Webhook } from './webhook.entity.js';

/**
 * pending → delivered | failed (the retry window ran out, or a redelivery is asked for again) |
 * skipped (a send change that, by delivery time, is no event the webhook takes).
 */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'skipped'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * One change of the account's change log on its way to one webhook. The deliveries of a
 * (webhook, account) go out one at a time in `seq` order: a failing one holds back those after it.
 */
@Entity('webhook_deliveries')
@Unique('uq_webhook_deliveries_change', ['webhookId', 'accountId', 'seq'])
@Index('idx_webhook_deliveries_pending', ['webhookId', 'accountId', 'seq'], { where: `"status" = 'pending'` })
@Index('idx_webhook_deliveries_webhook', ['webhookId', 'createdAt'])
export class WebhookDelivery extends WithTimestamps(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => Webhook, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'webhook_id', foreignKeyConstraintName: 'fk_webhook_deliveries_webhook' })
  webhook?: Webhook;

  @Column({ name: 'webhook_id', type: 'uuid' })
  webhookId!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_webhook_deliveries_account' })
  account?: MailAccount;

  /** The change's position in the account's change log (bigint, kept as a string). */
  @Column({ type: 'bigint' })
  seq!: string;

  /** The event name; `send.updated` until the attempt decides between `send.sent` and `send.failed`. */
  @Column({ type: 'varchar', length: 32 })
  type!: string;

  @Column({ name: 'entity_id', type: 'uuid' })
  entityId!: string;

  /** When the change happened: the event's `createdAt`. */
  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt!: Date;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: WebhookDeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** When the next attempt is due; the retry delay lives here, not in the queue. */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt!: Date;

  /** Until when an attempt in flight holds the delivery, so a duplicate job cannot send it twice at once. */
  @Column({ name: 'claimed_until', type: 'timestamptz', nullable: true })
  claimedUntil!: Date | null;

  /** The retry window counts from here. */
  @Column({ name: 'first_attempt_at', type: 'timestamptz', nullable: true })
  firstAttemptAt!: Date | null;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus!: number | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}

/** The event id receivers deduplicate on (also the Webhook-Id header): the same for every attempt and redelivery of the change. */
export function webhookEventId(delivery: Pick<WebhookDelivery, 'accountId' | 'seq'>): string {
  return `${delivery.accountId}:${delivery.seq}`;
}
