import { AppConfig } from '@app/config';
import { Global, Inject, Injectable, Logger, Module } from '@nestjs/common';
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

/**
 * Without an error listener ioredis prints every failed reconnect to stderr, outside the JSON
 * log; one warning per outage is enough, the health check reports it while it lasts.
 */
function reportOutagesOnce(client: Redis): void {
  const logger = new Logger('Redis');
  let reported = false;
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn({ reason: error.message }, 'Redis is unreachable; reconnecting');
  });
  client.on('ready', () => {
    if (reported) logger.log('Redis is reachable again');
    reported = false;
  });
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const client = new Redis(config.redis.url, {
          keyPrefix: `${config.redis.keyPrefix}:`,
          // Fail commands fast while Redis is away instead of queueing them without bound;
          // health checks and rate limiting must see the outage, not hang on it.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000,
          lazyConnect: false,
        });
        reportOutagesOnce(client);
        return client;
      },
    },
    RedisConnectionCloser,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
