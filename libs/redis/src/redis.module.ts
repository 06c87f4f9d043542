import { AppConfig } from '@app/config';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** The shared connection to the cache Redis (REDIS_URL): rate limits, leases, progress mirrors. */
export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);

@Injectable()
class RedisConnectionCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new Redis(config.redis.url, {
          keyPrefix: `${config.redis.keyPrefix}:`,
          // Fail commands fast while Redis is away instead of queueing them without bound;
          // health checks and rate limiting must see the outage, not hang on it.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000,
          lazyConnect: false,
        }),
    },
    RedisConnectionCloser,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
