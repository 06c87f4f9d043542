import { ConfigModule } from '@app/config';
import type { AppConfig } from '@app/config';
import { CryptoModule } from '@app/crypto';
import { DatabaseModule } from '@app/database';
import { TenancyModule } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';

/** What operator commands need: validated config, the database under tenant scope, the credential cipher. */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot('email_service-cli'), TenancyModule, CryptoModule],
    };
  }
}
