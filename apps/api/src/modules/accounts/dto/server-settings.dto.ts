import { CONNECTION_SECURITIES } from '@app/database';
import type { ConnectionSecurity } from '@app/database';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsFQDN, IsIn, IsInt, IsOptional, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { isIP } from 'node:net';

export class ServerSettingsDto {
  @ApiPropertyOptional({ example: 'imap.example.com', description: 'Defaults to imap./smtp. + the address domain' })
  @IsOptional()
  @ValidateIf((settings: ServerSettingsDto) => settings.host === undefined || isIP(settings.host) === 0)
  @IsFQDN({ require_tld: false }, { message: 'host must be a host name or IP address' })
  host?: string;

  @ApiPropertyOptional({ example: 993, description: 'Defaults from security: IMAP 993/143, SMTP 465/587/25' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  port?: number;

  @ApiPropertyOptional({ enum: CONNECTION_SECURITIES, default: 'tls' })
  @IsOptional()
  @IsIn(CONNECTION_SECURITIES)
  security?: ConnectionSecurity;

  @ApiPropertyOptional({ description: 'Defaults to the email address' })
  @IsOptional()
  @IsString()
  @Length(1, 320)
  username?: string;
}
