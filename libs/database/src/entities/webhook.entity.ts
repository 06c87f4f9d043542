import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

import { TenantOwned, WithTimestamps } from './shared-columns.js';

/**
 * The events a webhook may subscribe to: `<type>.<op>` of the change log, except that a send's
 * `updated` reaches receivers as `send.sent`, `send.failed` or `send.bounced` (its state when it is delivered).
 */
export const WEBHOOK_EVENT_TYPES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'folder.created',
  'folder.updated',
  'folder.deleted',
  'thread.created',
  'thread.updated',
  'thread.deleted',
  'draft.created',
  'draft.updated',
  'draft.deleted',
  'send.created',
  'send.sent',
  'send.failed',
  'send.bounced',
  'account.error',
  'account.reauth_required',
  'sync.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Stands for every event type, present and future. */
export const ALL_WEBHOOK_EVENTS = '*';

/**
 * An endpoint of the tenant that receives signed event deliveries. The signing secret is kept
 * encrypted like account passwords; it is shown to the client once, when it is generated.
 */
@Entity('webhooks')
@Index('idx_webhooks_tenant', ['tenantId'])
export class Webhook extends WithTimestamps(TenantOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  url!: string;

  /** Event types, or `['*']` for all. */
  @Column({ type: 'text', array: true })
  events!: string[];

  /** Null: every account of the tenant, also those added later. */
  @Column({ name: 'account_ids', type: 'uuid', array: true, nullable: true })
  accountIds!: string[] | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'encrypted_secret', type: 'text' })
  encryptedSecret!: string;

  /** Why deliveries disabled the endpoint; cleared when the client activates it again. */
  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason!: string | null;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;
}
