import { QueueName } from '@app/queue';
import { getQueueToken } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import type { DynamicModule, FactoryProvider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';

import { DatabasePoolMetrics } from './database-pool-metrics.js';
import { HttpMetrics } from './http-metrics.js';
import { JobMetrics } from './job-metrics.js';
import { MetricsRegistry } from './metrics-registry.js';
import { QueueDepthMetrics } from './queue-depth-metrics.js';
import { RedisCacheMetrics } from './redis-cache-metrics.js';
import { WatchMetrics } from './watch-metrics.js';
import type { RedisLookup } from './redis-cache-metrics.js';

export type MeteredApp = 'api' | 'worker' | 'scheduler';

const REDIS_LOOKUPS: Readonly<Record<MeteredApp, readonly RedisLookup[]>> = {
  api: ['sync_dedupe'],
  worker: ['sync_lease'],
  scheduler: ['sync_tick'],
};

const QUEUE_TOKENS = Object.values(QueueName).map((name) => getQueueToken(name));

/** The families only some apps have: every app exposes what it measures and nothing else. */
function appProviders(app: MeteredApp): FactoryProvider[] {
  switch (app) {
    case 'api':
      return [
        {
          provide: HttpMetrics,
          inject: [MetricsRegistry],
          useFactory: (metrics: MetricsRegistry) => new HttpMetrics(metrics.perProcess),
        },
        {
          // Reported by the API, whose /metrics every deployment scrapes; worker replicas come
          // and go with the load.
          provide: QueueDepthMetrics,
          inject: [MetricsRegistry, ...QUEUE_TOKENS],
          useFactory: (metrics: MetricsRegistry, ...queues: Queue[]) => new QueueDepthMetrics(metrics.shared, queues),
        },
      ];
    case 'worker':
      return [
        {
          provide: JobMetrics,
          inject: [MetricsRegistry],
          useFactory: (metrics: MetricsRegistry) => new JobMetrics(metrics.perProcess),
        },
        {
          provide: WatchMetrics,
          inject: [MetricsRegistry],
          useFactory: (metrics: MetricsRegistry) => new WatchMetrics(metrics.perProcess),
        },
      ];
    case 'scheduler':
      return [];
  }
}

/**
 * The app's Prometheus metrics. The API serves them at GET /metrics, the worker and the
 * scheduler on their health listener's /metrics.
 */
@Global()
@Module({})
export class MetricsModule {
  static forApp(app: MeteredApp): DynamicModule {
    const providers: FactoryProvider[] = [
      {
        provide: RedisCacheMetrics,
        inject: [MetricsRegistry],
        useFactory: (metrics: MetricsRegistry) => new RedisCacheMetrics(metrics.perProcess, REDIS_LOOKUPS[app]),
      },
      {
        provide: DatabasePoolMetrics,
        inject: [MetricsRegistry, getDataSourceToken()],
        useFactory: (metrics: MetricsRegistry, dataSource: DataSource) =>
          new DatabasePoolMetrics(metrics.perProcess, dataSource),
      },
      ...appProviders(app),
    ];
    return {
      module: MetricsModule,
      providers: [MetricsRegistry, ...providers],
      exports: [MetricsRegistry, ...providers.map((provider) => provider.provide)],
    };
  }
}
