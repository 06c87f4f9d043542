import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, Matches } from 'class-validator';

const PRINTABLE = /^[\x20-\x7e]*$/;

export class StartAuthorizationDto {
  @ApiPropertyOptional({ example: 'alice@gmail.com', description: 'Passed to the provider as login_hint' })
  @IsOptional()
  @IsEmail({ allow_ip_domain: false, require_tld: false })
  @Length(3, 320)
  loginHint?: string;
}

export class AuthorizationStartedDto {
  @ApiProperty({ description: 'Send the user’s browser here; the provider comes back to the callback' })
  authorizeUrl!: string;
  @ApiProperty({ format: 'date-time', description: 'The authorisation must complete before this' })
  expiresAt!: string;
}

/**
 * What a provider appends to the redirect URI (RFC 6749 section 4.1.2): `code` and `state`, or
 * `error`. Google and Microsoft add the others; they are accepted and ignored.
 */
export class AuthorizationCallbackQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 4096)
  @Matches(PRINTABLE)
  code?: string;

  @ApiProperty()
  @IsString()
  @Length(1, 4096)
  @Matches(PRINTABLE)
  state!: string;

  @ApiPropertyOptional({ example: 'access_denied' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(PRINTABLE)
  error?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 2000)
  error_description?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 2000)
  error_uri?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 4096)
  scope?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 2000)
  session_state?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 2000)
  iss?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 100)
  authuser?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 100)
  prompt?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(0, 255)
  hd?: string;
}

export class AuthorizationCompletedDto {
  @ApiProperty({ enum: ['connected'] }) status!: 'connected';
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty() email!: string;
}
