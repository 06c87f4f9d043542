import { ACCOUNT_SYNC_STATES, CONNECTION_SECURITIES } from '@app/database';
import type { AccountSyncState, ConnectionSecurity, MailAccount } from '@app/database';
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

/** An account as clients see it: never a password, never its ciphertext. */
export class AccountResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ nullable: true, type: String }) displayName!: string | null;
  @ApiProperty({ type: ServerSettingsResponseDto }) imap!: ServerSettingsResponseDto;
  @ApiProperty({ type: ServerSettingsResponseDto }) smtp!: ServerSettingsResponseDto;
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
