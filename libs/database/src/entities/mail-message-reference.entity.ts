import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { MailMessage } from './mail-message.entity.js';
import { AccountOwned } from './shared-columns.js';

/**
 * One Message-ID a stored message refers to (its In-Reply-To and every References entry), so a
 * message arriving after its replies finds their thread: the reverse of the lookup by Message-ID.
 * A table of its own because an index on the `references` array (GIN, `&&`) is not usable under
 * row-level security, where the planner only uses indexes for leakproof operators like `=`.
 */
@Entity('mail_message_references')
@Index('idx_mail_message_references_lookup', ['accountId', 'referencedId'])
export class MailMessageReference extends AccountOwned {
  @PrimaryColumn({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @PrimaryColumn({ name: 'referenced_id', type: 'text' })
  referencedId!: string;

  @ManyToOne(() => MailMessage, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id', foreignKeyConstraintName: 'fk_mail_message_references_message' })
  message?: MailMessage;
}
