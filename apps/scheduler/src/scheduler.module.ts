import { ConfigModule } from '@app/config';
import { CryptoModule } from '@app/crypto';
import type { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { HealthCheckModule, LoggingModule, MetricsModule } from '@app/observability';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';

import { CRON_PROVIDERS, CRONS } from './crons/index.js';

/** The only module that imports ScheduleModule: crons run in the scheduler app and nowhere else. */
@Module({})
export class SchedulerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot('scheduler'),
        DatabaseModule.forRoot('email_service-scheduler'),
        RedisModule,
        TenancyModule,
        CryptoModule,
        QueueModule,
        HealthCheckModule.forApp('scheduler'),
        MetricsModule.forApp('scheduler'),
        ScheduleModule.forRoot(),
      ],
      providers: [...CRONS, ...CRON_PROVIDERS],
    };
  }
}
