import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsEmail, IsObject, IsOptional, IsString, Length, Matches, ValidateNested } from 'class-validator';

import { ServerSettingsDto } from './server-settings.dto.js';

const NO_LINE_BREAKS = /^[^\r\n]*$/;

export class CreateAccountDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail({ allow_ip_domain: false, require_tld: false })
  @Length(3, 320)
  email!: string;

  @ApiProperty({ writeOnly: true, description: 'Encrypted at rest, never returned' })
  @IsString()
  @Length(1, 1024)
  password!: string;

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
