import { AppConfig } from '@app/config';
import { REDIS_CLIENT } from '@app/redis';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

import { RateLimitGuard } from './rate-limit.guard.js';

/**
 * Per-client-IP limits per minute and per hour, counted in Redis so that every API process and
 * replica shares them. RATE_LIMIT_ENABLED=false turns the guard into a no-op.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: Redis) => ({
        throttlers: [
          { name: 'minute', ttl: 60_000, limit: config.rateLimit.perMinute },
          { name: 'hour', ttl: 3_600_000, limit: config.rateLimit.perHour },
        ],
        storage: new ThrottlerStorageRedisService(redis),
        skipIf: () => !config.rateLimit.enabled,
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
