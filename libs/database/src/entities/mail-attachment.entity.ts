import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { MailMessage } from './mail-message.entity.js';
import { TenantOwned } from './shared-columns.js';

/** Attachment metadata; the bytes stay on the IMAP server and are streamed by part id on demand. */
@Entity('mail_attachments')
@Unique('uq_mail_attachments_message_part', ['messageId', 'partId'])
@Index('idx_mail_attachments_tenant', ['tenantId'])
export class MailAttachment extends TenantOwned {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @ManyToOne(() => MailMessage, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id', foreignKeyConstraintName: 'fk_mail_attachments_message' })
  message?: MailMessage;

  /** IMAP BODYSTRUCTURE section number (e.g. "2" or "1.2"), enough to FETCH BODY[part] later. */
  @Column({ name: 'part_id', type: 'varchar', length: 64 })
  partId!: string;

  @Column({ type: 'text', nullable: true })
  filename!: string | null;

  @Column({ name: 'content_type', type: 'varchar', length: 255 })
  contentType!: string;

  @Column({ type: 'integer', default: 0 })
  size!: number;

  @Column({ name: 'content_id', type: 'text', nullable: true })
  contentId!: string | null;

  @Column({ type: 'boolean', default: false })
  inline!: boolean;
}
