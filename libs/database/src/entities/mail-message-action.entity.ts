import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

import { BulkAction } from './bulk-action.entity.js';
import { MailAccount } from './mail-account.entity.js';
import { AccountOwned, WithCreatedAt } from './shared-columns.js';

export const MESSAGE_ACTION_KINDS = ['flags', 'move', 'delete'] as const;
export type MessageActionKind = (typeof MESSAGE_ACTION_KINDS)[number];

export const MESSAGE_ACTION_STATES = ['pending', 'applied', 'failed'] as const;
export type MessageActionState = (typeof MESSAGE_ACTION_STATES)[number];

/** What the action asks of the server. A delete either moves to Trash (`toFolderId`) or expunges. */
export type MessageActionChange = { add: string[]; remove: string[] } | { toFolderId: string } | { expunge: true };

/**
 * Where the message sat on the server when the action was requested, which is where the worker
 * finds it (actions of one message are applied in order). An expunge also keeps the row and its
 * attachments' rows, keyed by column as PostgreSQL's to_jsonb gives them, so a refusal can put
 * the message back as it was.
 */
export interface MessageActionOrigin {
  folderId: string;
  uidValidity: string;
  uid: string;
  row?: Record<string, unknown>;
  attachments?: Record<string, unknown>[];
}

/** Shown on a message whose last action the server refused (and which was therefore undone locally). */
export interface MessageActionError {
  action: MessageActionKind;
  message: string;
  at: string;
}

/**
 * A change a user made to a message: applied to PostgreSQL at once (optimistically), then to the
 * IMAP server by a worker job, and undone locally if the server refuses it.
 */
@Entity('mail_message_actions')
@Index('idx_mail_message_actions_tenant', ['tenantId'])
@Index('idx_mail_message_actions_message', ['messageId', 'createdAt'])
@Index('idx_mail_message_actions_pending', ['tenantId', 'createdAt'], { where: `"state" = 'pending'` })
@Index('idx_mail_message_actions_bulk_pending', ['bulkActionId'], { where: `"state" = 'pending'` })
export class MailMessageAction extends WithCreatedAt(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_mail_message_actions_account' })
  account?: MailAccount;

  /** No foreign key: an expunge removes the message row while the action still needs to be applied. */
  @Column({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: MessageActionKind;

  /** The bulk action this is a member of: its job, not one of its own, applies it. */
  @Column({ name: 'bulk_action_id', type: 'uuid', nullable: true })
  bulkActionId!: string | null;

  @ManyToOne(() => BulkAction, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'bulk_action_id', foreignKeyConstraintName: 'fk_mail_message_actions_bulk_action' })
  bulkAction?: BulkAction;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  state!: MessageActionState;

  @Column({ type: 'jsonb' })
  change!: MessageActionChange;

  @Column({ type: 'jsonb' })
  origin!: MessageActionOrigin;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
