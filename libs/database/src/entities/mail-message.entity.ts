import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { MailAccount } from './mail-account.entity.js';
import { MailFolder } from './mail-folder.entity.js';
import type { MessageActionError } from './mail-message-action.entity.js';
import { AccountOwned, WithTimestamps } from './shared-columns.js';

export interface MailAddress {
  name: string;
  address: string;
}

/**
 * Subject weighted A, addresses B, body D. 'simple' (no stemming) because mailboxes mix
 * languages; folded (lower case, accents removed: mail_search_fold) so "cafe" finds "café";
 * the body is capped because a tsvector may not exceed 1 MB.
 */
export const SEARCH_VECTOR_EXPRESSION = [
  `setweight(to_tsvector('simple', mail_search_fold(coalesce("subject", ''))), 'A')`,
  `setweight(to_tsvector('simple', mail_search_fold(coalesce("from_name", '') || ' ' || coalesce("from_address", '') || ' ' || mail_address_text("to") || ' ' || mail_address_text("cc"))), 'B')`,
  `setweight(to_tsvector('simple', mail_search_fold(left(coalesce("text_body", ''), 200000))), 'D')`,
].join(' || ');

/** Folded names and addresses per address field, trigram-indexed for `from:`/`to:`/`cc:` (see migration MessageReadSearch). */
export const ADDRESS_SEARCH_EXPRESSIONS = {
  from: `mail_search_fold(coalesce("from_name", '') || ' ' || coalesce("from_address", ''))`,
  to: `mail_search_fold(mail_address_text("to"))`,
  cc: `mail_search_fold(mail_address_text("cc"))`,
} as const;

/** `parsed`: bodies and attachments decoded; `envelope`: headers only (parsing disabled or pending); `unparseable`: kept from the envelope because the MIME could not be decoded. */
export const PARSE_STATES = ['parsed', 'envelope', 'unparseable'] as const;
export type ParseState = (typeof PARSE_STATES)[number];

/**
 * One message as it sits in one folder. The same RFC 5322 message in two folders is two rows:
 * IMAP identity is (folder, UIDVALIDITY, UID), and that is what makes sync idempotent.
 */
@Entity('mail_messages')
@Unique('uq_mail_messages_imap_identity', ['accountId', 'folderId', 'uidValidity', 'uid'])
@Index('idx_mail_messages_tenant', ['tenantId'])
// Newest-first listing and keyset pagination need DESC order, which decorators cannot express:
// these are created by the migration and left alone by schema diffs.
@Index('idx_mail_messages_folder_received', { synchronize: false })
@Index('idx_mail_messages_account_received', { synchronize: false })
@Index('idx_mail_messages_search', { synchronize: false })
@Index('idx_mail_messages_from_search', { synchronize: false })
@Index('idx_mail_messages_to_search', { synchronize: false })
@Index('idx_mail_messages_cc_search', { synchronize: false })
@Index('idx_mail_messages_account_thread', ['accountId', 'threadId'])
@Index('idx_mail_messages_account_message_id', ['accountId', 'messageId'])
@Index('idx_mail_messages_account_in_reply_to', ['accountId', 'inReplyTo'])
export class MailMessage extends WithTimestamps(AccountOwned) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => MailAccount, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id', foreignKeyConstraintName: 'fk_mail_messages_account' })
  account?: MailAccount;

  @Column({ name: 'folder_id', type: 'uuid' })
  folderId!: string;

  @ManyToOne(() => MailFolder, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'folder_id', foreignKeyConstraintName: 'fk_mail_messages_folder' })
  folder?: MailFolder;

  @Column({ name: 'uid_validity', type: 'bigint' })
  uidValidity!: string;

  @Column({ type: 'bigint' })
  uid!: string;

  @Column({ type: 'bigint', nullable: true })
  modseq!: string | null;

  @Column({ name: 'message_id', type: 'text', nullable: true })
  messageId!: string | null;

  @Column({ name: 'in_reply_to', type: 'text', nullable: true })
  inReplyTo!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  references!: string[];

  @Column({ name: 'thread_id', type: 'uuid', nullable: true })
  threadId!: string | null;

  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ name: 'from_name', type: 'text', nullable: true })
  fromName!: string | null;

  @Column({ name: 'from_address', type: 'text', nullable: true })
  fromAddress!: string | null;

  @Column({ name: 'to', type: 'jsonb', default: () => "'[]'" })
  to!: MailAddress[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  cc!: MailAddress[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  bcc!: MailAddress[];

  @Column({ name: 'reply_to', type: 'jsonb', default: () => "'[]'" })
  replyTo!: MailAddress[];

  /** The Date header, as the sender claimed it. */
  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  /** IMAP INTERNALDATE: when the server received it; the order mail clients list by. */
  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  flags!: string[];

  @Column({ type: 'integer', default: 0 })
  size!: number;

  @Column({ name: 'has_attachments', type: 'boolean', default: false })
  hasAttachments!: boolean;

  @Column({ type: 'text', nullable: true })
  snippet!: string | null;

  @Column({ name: 'text_body', type: 'text', nullable: true })
  textBody!: string | null;

  @Column({ name: 'html_body', type: 'text', nullable: true })
  htmlBody!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  headers!: Record<string, string | string[]> | null;

  @Column({ name: 'parse_state', type: 'varchar', length: 16, default: 'envelope' })
  parseState!: ParseState;

  /** The last flag change, move or delete the server refused; it was undone locally. */
  @Column({ name: 'action_error', type: 'jsonb', nullable: true })
  actionError!: MessageActionError | null;

  /**
   * Maintained by PostgreSQL (a stored generated column, see the initial migration): subject
   * weighted A, addresses B, body D. Never written by the application.
   */
  @Column({
    name: 'search_vector',
    type: 'tsvector',
    select: false,
    insert: false,
    update: false,
    nullable: true,
    generatedType: 'STORED',
    asExpression: SEARCH_VECTOR_EXPRESSION,
  })
  searchVector?: string;

  @Column({
    name: 'from_search',
    type: 'text',
    select: false,
    insert: false,
    update: false,
    nullable: true,
    generatedType: 'STORED',
    asExpression: ADDRESS_SEARCH_EXPRESSIONS.from,
  })
  fromSearch?: string;

  @Column({
    name: 'to_search',
    type: 'text',
    select: false,
    insert: false,
    update: false,
    nullable: true,
    generatedType: 'STORED',
    asExpression: ADDRESS_SEARCH_EXPRESSIONS.to,
  })
  toSearch?: string;

  @Column({
    name: 'cc_search',
    type: 'text',
    select: false,
    insert: false,
    update: false,
    nullable: true,
    generatedType: 'STORED',
    asExpression: ADDRESS_SEARCH_EXPRESSIONS.cc,
  })
  ccSearch?: string;
}
