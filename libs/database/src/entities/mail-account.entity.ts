import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

import { TenantOwned, WithSyncBackoff, WithTimestamps } from './shared-columns.js';

export const CONNECTION_SECURITIES = ['tls', 'starttls', 'none'] as const;
export type ConnectionSecurity = (typeof CONNECTION_SECURITIES)[number];

export const ACCOUNT_AUTH_TYPES = ['password', 'oauth2'] as const;
export type AccountAuthType = (typeof ACCOUNT_AUTH_TYPES)[number];

/** `reauth_required`: the provider refused the refresh token; nothing runs for the account until new tokens arrive. */
export const ACCOUNT_AUTH_STATES = ['valid', 'reauth_required'] as const;
export type AccountAuthState = (typeof ACCOUNT_AUTH_STATES)[number];

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

  @Column({ name: 'auth_type', type: 'varchar', length: 16, default: 'password' })
  authType!: AccountAuthType;

  /** AES-256-GCM envelope with the key id; never selected unless a connection is about to be made. Null for OAuth2 accounts. */
  @Column({ name: 'encrypted_password', type: 'text', nullable: true, select: false })
  encryptedPassword!: string | null;

  /** The OAuth2 provider (an id of OAUTH_PROVIDERS) that issued the tokens; null for password accounts. */
  @Column({ name: 'oauth_provider', type: 'varchar', length: 64, nullable: true })
  oauthProvider!: string | null;

  /** Sealed like the password; absent until the first refresh when a client gave only a refresh token. */
  @Column({ name: 'encrypted_access_token', type: 'text', nullable: true, select: false })
  encryptedAccessToken!: string | null;

  @Column({ name: 'encrypted_refresh_token', type: 'text', nullable: true, select: false })
  encryptedRefreshToken!: string | null;

  @Column({ name: 'token_expires_at', type: 'timestamptz', nullable: true })
  tokenExpiresAt!: Date | null;

  @Column({ name: 'auth_state', type: 'varchar', length: 24, default: 'valid' })
  authState!: AccountAuthState;

  /** Why the provider refused the refresh token (its `error_description`), while `reauth_required`. */
  @Column({ name: 'auth_error', type: 'text', nullable: true })
  authError!: string | null;

  @Column({ name: 'allow_self_signed_certificates', type: 'boolean', default: false })
  allowSelfSignedCertificates!: boolean;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'sync_state', type: 'varchar', length: 16, default: 'idle' })
  syncState!: AccountSyncState;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;
}
