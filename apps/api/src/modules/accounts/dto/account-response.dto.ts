import { ACCOUNT_AUTH_STATES, ACCOUNT_AUTH_TYPES, ACCOUNT_SYNC_STATES, CONNECTION_SECURITIES } from '@app/database';
import type {
  AccountAuthState,
  AccountAuthType,
  AccountSyncState,
  ConnectionSecurity,
  MailAccount,
} from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

export class ServerSettingsResponseDto {
  @ApiProperty() host!: string;
  @ApiProperty() port!: number;
  @ApiProperty({ enum: CONNECTION_SECURITIES }) security!: ConnectionSecurity;
  @ApiProperty() username!: string;
}

export class LastErrorDto {
  @ApiProperty() message!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

/** How the account logs in, without any secret. */
export class AccountAuthResponseDto {
  @ApiProperty({ enum: ACCOUNT_AUTH_TYPES }) type!: AccountAuthType;
  @ApiProperty({ nullable: true, type: String, description: 'The OAuth2 provider; null for passwords' })
  provider!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the current access token expires',
  })
  expiresAt!: string | null;
  @ApiProperty({
    enum: ACCOUNT_AUTH_STATES,
    description:
      '`reauth_required`: the provider refused the refresh token; sync and send stop until new tokens are stored',
  })
  state!: AccountAuthState;
  @ApiProperty({ nullable: true, type: String, description: 'The provider’s reason, while `reauth_required`' })
  reason!: string | null;
}

/** An account as clients see it: never a password or token, never their ciphertext. */
export class AccountResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ nullable: true, type: String }) displayName!: string | null;
  @ApiProperty({ type: ServerSettingsResponseDto }) imap!: ServerSettingsResponseDto;
  @ApiProperty({ type: ServerSettingsResponseDto }) smtp!: ServerSettingsResponseDto;
  @ApiProperty({ type: AccountAuthResponseDto }) auth!: AccountAuthResponseDto;
  @ApiProperty() allowSelfSignedCertificates!: boolean;
  @ApiProperty() active!: boolean;
  @ApiProperty({ enum: ACCOUNT_SYNC_STATES }) syncState!: AccountSyncState;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastSyncedAt!: string | null;
  @ApiProperty({ nullable: true, type: LastErrorDto }) lastError!: LastErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static from(account: MailAccount): AccountResponseDto {
    return {
      id: account.id,
      tenantId: account.tenantId,
      email: account.email,
      displayName: account.displayName,
      imap: {
        host: account.imapHost,
        port: account.imapPort,
        security: account.imapSecurity,
        username: account.imapUsername,
      },
      smtp: {
        host: account.smtpHost,
        port: account.smtpPort,
        security: account.smtpSecurity,
        username: account.smtpUsername,
      },
      auth: {
        type: account.authType,
        provider: account.oauthProvider,
        expiresAt: account.tokenExpiresAt?.toISOString() ?? null,
        state: account.authState,
        reason: account.authError,
      },
      allowSelfSignedCertificates: account.allowSelfSignedCertificates,
      active: account.active,
      syncState: account.syncState,
      lastSyncedAt: account.lastSyncedAt?.toISOString() ?? null,
      lastError:
        account.lastError && account.lastErrorAt
          ? { message: account.lastError, at: account.lastErrorAt.toISOString() }
          : null,
      createdAt: account.createdAt.toISOString(),
      updatedAt: account.updatedAt.toISOString(),
    };
  }
}

export class AccountPageDto {
  @ApiProperty({ type: [AccountResponseDto] }) items!: AccountResponseDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
