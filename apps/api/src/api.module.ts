import { ConfigModule } from '@app/config';
import { CryptoModule } from '@app/crypto';
import type { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggingModule } from '@app/observability';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule } from '@app/tenancy';
import { Module, ValidationPipe } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';

import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { HealthModule } from './modules/health/health.module.js';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot('api'),
        DatabaseModule.forRoot('email_service-api'),
        RedisModule,
        TenancyModule,
        CryptoModule,
        QueueModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
        },
      ],
    };
  }
}
