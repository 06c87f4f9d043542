import type { MailProvider } from '@app/config';
import { CONNECTION_SECURITIES } from '@app/database';
import type { ConnectionSecurity } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

export class ProviderServerDto {
  @ApiProperty() host!: string;
  @ApiProperty() port!: number;
  @ApiProperty({ enum: CONNECTION_SECURITIES }) security!: ConnectionSecurity;
}

/** A mail provider a client may name in POST /api/accounts (`provider`) or the OAuth2 flow; no client secret. */
export class ProviderDto {
  @ApiProperty({ example: 'google' }) id!: string;
  @ApiProperty({ example: 'Gmail / Google Workspace' }) name!: string;
  @ApiProperty({ enum: ['password', 'oauth2'], description: 'password: usually an app-specific password' })
  auth!: 'password' | 'oauth2';
  @ApiProperty({ type: ProviderServerDto }) imap!: ProviderServerDto;
  @ApiProperty({ type: ProviderServerDto }) smtp!: ProviderServerDto;
  @ApiProperty({ description: 'The provider files the Sent copy of a sent message itself; the service adds none' })
  filesSentCopy!: boolean;
  @ApiProperty({
    type: [String],
    description: 'Folders that show every message of the others again (Gmail’s All Mail)',
  })
  allMailFolders!: string[];
  @ApiProperty({
    description:
      'oauth2 only: POST /api/oauth/{id}/start can be used (a client id and OAUTH_REDIRECT_BASE_URL are set)',
  })
  authorizationFlow!: boolean;
  @ApiProperty({ type: [String], description: 'oauth2 only: the scopes a client running its own flow must ask for' })
  scopes!: string[];

  static from(provider: MailProvider, redirectConfigured: boolean): ProviderDto {
    return {
      id: provider.id,
      name: provider.name,
      auth: provider.auth,
      imap: { ...provider.imap },
      smtp: { ...provider.smtp },
      filesSentCopy: provider.filesSentCopy,
      allMailFolders: provider.allMailFolders,
      authorizationFlow: Boolean(provider.oauth?.clientId) && redirectConfigured,
      scopes: provider.oauth?.scopes ?? [],
    };
  }
}

export class ProviderListDto {
  @ApiProperty({ type: [ProviderDto] }) items!: ProviderDto[];
}
