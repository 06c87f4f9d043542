import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsEmail, IsObject, IsOptional, IsString, Length, Matches, ValidateNested } from 'class-validator';

import { AccountAuthDto } from './account-auth.dto.js';
import { ServerSettingsDto } from './server-settings.dto.js';

const NO_LINE_BREAKS = /^[^\r\n]*$/;

export class CreateAccountDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail({ allow_ip_domain: false, require_tld: false })
  @Length(3, 320)
  email!: string;

  @ApiPropertyOptional({
    writeOnly: true,
    description: 'Same as `auth: {type: "password", password}`; give one of the two. Encrypted at rest, never returned',
  })
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  password?: string;

  @ApiPropertyOptional({
    type: AccountAuthDto,
    example: { type: 'password', password: 'app-specific password' },
    description:
      'How the account logs in. `oauth2`: tokens the client obtained itself (or use POST /api/oauth/{provider}/start)',
  })
  @IsOptional()
  @IsObject({ message: '$property must be an object with a type' })
  @ValidateNested()
  @Type(() => AccountAuthDto)
  auth?: AccountAuthDto;

  @ApiPropertyOptional({
    example: 'fastmail',
    description: 'An id of GET /api/providers: its IMAP and SMTP host, port and security fill what imap/smtp leave out',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'provider must be a provider id (a-z, 0-9, _ and -)' })
  provider?: string;

  @ApiPropertyOptional({ example: 'Alice' })
  @IsOptional()
  @IsString()
  @Length(0, 200)
  @Matches(NO_LINE_BREAKS, { message: 'displayName must not contain line breaks' })
  displayName?: string;

  @ApiPropertyOptional({ type: ServerSettingsDto })
  @IsOptional()
  // ValidateNested alone takes a list for a list of settings, and an empty one passes.
  @IsObject({ message: '$property must be an object of server settings' })
  @ValidateNested()
  @Type(() => ServerSettingsDto)
  imap?: ServerSettingsDto;

  @ApiPropertyOptional({ type: ServerSettingsDto })
  @IsOptional()
  @IsObject({ message: '$property must be an object of server settings' })
  @ValidateNested()
  @Type(() => ServerSettingsDto)
  smtp?: ServerSettingsDto;

  @ApiPropertyOptional({ default: false, description: 'Accept self-signed server certificates for this account only' })
  @IsOptional()
  @IsBoolean()
  allowSelfSignedCertificates?: boolean;
}
