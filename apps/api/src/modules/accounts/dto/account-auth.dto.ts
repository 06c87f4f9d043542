import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsString, Length, Matches, ValidateIf } from 'class-validator';

export const ACCOUNT_AUTH_INPUT_TYPES = ['password', 'oauth2'] as const;

/** Tokens travel in SASL payloads and HTTP headers: printable ASCII only (RFC 6750 section 2.1 allows less). */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;
const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A field is checked when its type needs it, and whenever it is given: a stray one still has to be well-formed. */
const isPassword = (auth: AccountAuthDto): boolean => auth.type === 'password' || auth.password !== undefined;
const isOAuth =
  (field: 'provider' | 'refreshToken') =>
  (auth: AccountAuthDto): boolean =>
    auth.type === 'oauth2' || auth[field] !== undefined;
const given =
  (field: 'accessToken' | 'expiresAt') =>
  (auth: AccountAuthDto): boolean =>
    auth[field] !== undefined;

/** How the account logs in: a password, or OAuth2 tokens the client obtained itself. Secrets are write-only. */
export class AccountAuthDto {
  @ApiProperty({ enum: ACCOUNT_AUTH_INPUT_TYPES })
  @IsIn(ACCOUNT_AUTH_INPUT_TYPES)
  type!: 'password' | 'oauth2';

  @ApiPropertyOptional({ writeOnly: true, description: 'type password: encrypted at rest, never returned' })
  @ValidateIf(isPassword)
  @IsString()
  @Length(1, 1024)
  password?: string;

  @ApiPropertyOptional({ example: 'google', description: 'type oauth2: an id of GET /api/providers' })
  @ValidateIf(isOAuth('provider'))
  @IsString()
  @Matches(PROVIDER_ID, { message: 'provider must be a provider id (a-z, 0-9, _ and -)' })
  provider?: string;

  @ApiPropertyOptional({ writeOnly: true, description: 'type oauth2: optional; without it the first use refreshes' })
  @ValidateIf(given('accessToken'))
  @IsString()
  @Length(1, 8192)
  @Matches(TOKEN_CHARACTERS, { message: 'accessToken must be printable ASCII' })
  accessToken?: string;

  @ApiPropertyOptional({ writeOnly: true, description: 'type oauth2: required; encrypted at rest, never returned' })
  @ValidateIf(isOAuth('refreshToken'))
  @IsString()
  @Length(1, 8192)
  @Matches(TOKEN_CHARACTERS, { message: 'refreshToken must be printable ASCII' })
  refreshToken?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'type oauth2: when accessToken expires' })
  @ValidateIf(given('expiresAt'))
  @IsISO8601({ strict: true })
  expiresAt?: string;
}
