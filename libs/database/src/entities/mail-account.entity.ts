import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { TenantOwned, WithSyncBackoff, WithTimestamps } from './shared-columns.js';

export const CONNECTION_SECURITIES = ['tls', 'starttls', 'none'] as const;
export type ConnectionSecurity = (typeof CONNECTION_SECURITIES)[number];

export const ACCOUNT_SYNC_STATES = ['idle', 'queued', 'running', 'failed'] as const;
export type AccountSyncState = (typeof ACCOUNT_SYNC_STATES)[number];

/** A user's mailbox at some provider: where to reach it and the credentials, encrypted at rest. */
@Entity('mail_accounts')
@Unique('uq_mail_accounts_tenant_email', ['tenantId', 'email'])
@Index('idx_mail_accounts_tenant', ['tenantId'])
export class MailAccount extends WithTimestamps(WithSyncBackoff(TenantOwned)) {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 320 })
  email!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 200, nullable: true })
  displayName!: string | null;

  @Column({ name: 'imap_host', type: 'varchar', length: 255 })
  imapHost!: string;

  @Column({ name: 'imap_port', type: 'integer' })
  imapPort!: number;

  @Column({ name: 'imap_security', type: 'varchar', length: 8 })
  imapSecurity!: ConnectionSecurity;

  @Column({ name: 'imap_username', type: 'varchar', length: 320 })
  imapUsername!: string;

  @Column({ name: 'smtp_host', type: 'varchar', length: 255 })
  smtpHost!: string;

  @Column({ name: 'smtp_port', type: 'integer' })
  smtpPort!: number;

  @Column({ name: 'smtp_security', type: 'varchar', length: 8 })
  smtpSecurity!: ConnectionSecurity;

  @Column({ name: 'smtp_username', type: 'varchar', length: 320 })
  smtpUsername!: string;

  /** AES-256-GCM envelope with the key id; never selected unless a connection is about to be made. */
  @Column({ name: 'encrypted_password', type: 'text', select: false })
  encryptedPassword!: string;

  @Column({ name: 'allow_self_signed_certificates', type: 'boolean', default: false })
  allowSelfSignedCertificates!: boolean;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'sync_state', type: 'varchar', length: 16, default: 'idle' })
  syncState!: AccountSyncState;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;
}
