import { AppConfig } from '@app/config';
import { REDIS_CLIENT } from '@app/redis';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { Redis } from 'ioredis';

import { DependencyHealthService } from './dependency-health.service.js';

/**
 * Dependency checks shared by the API's /health route and the worker's and scheduler's health
 * listeners; `app` names the answering app in the report.
 */
@Module({})
export class HealthCheckModule {
  static forApp(app: string): DynamicModule {
    return {
      module: HealthCheckModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [
        {
          provide: DependencyHealthService,
          inject: [AppConfig, HealthCheckService, TypeOrmHealthIndicator, HealthIndicatorService, REDIS_CLIENT],
          useFactory: (
            config: AppConfig,
            health: HealthCheckService,
            database: TypeOrmHealthIndicator,
            indicators: HealthIndicatorService,
            redis: Redis,
          ) => new DependencyHealthService(app, config, health, database, indicators, redis),
        },
      ],
      exports: [DependencyHealthService],
    };
  }
}
