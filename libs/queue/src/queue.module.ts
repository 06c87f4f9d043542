import { AppConfig } from '@app/config';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';

import { JobProducer } from './job-producer.js';
import { QueueName } from './queue-names.js';

const QUEUES = Object.values(QueueName).map((name) => ({ name }));

/**
 * Reconnect at least every second: BullMQ's default backs off to 20 s between attempts, so after
 * an outage of ten seconds or more the apps kept failing (API) or idling (worker) for up to 20 s
 * while Redis was already back and health said so.
 */
function reconnectWithinASecond(attempt: number): number {
  return Math.min(attempt * 100, 1_000);
}

/**
 * Background apps wait for the queue Redis to come back: a worker's BullMQ calls (and the jobs it
 * enqueues mid-job) resume where they were, as BullMQ requires of workers.
 */
const WAIT_FOR_REDIS = { maxRetriesPerRequest: null, retryStrategy: reconnectWithinASecond } as const;

/**
 * A request must not wait for the queue Redis: with it away an enqueue fails within
 * FAIL_FAST_AFTER_MS instead of holding the request open for the whole outage. The offline queue
 * stays on (BullMQ's connection setup needs it before Redis is ready); the command timeout bounds
 * how long a command waits in it. A record stored before the failed enqueue (a send, a draft) gets
 * its job from the scheduler's reconciliation once Redis is back; one that is not (a sync request)
 * is answered 503.
 */
const FAIL_FAST_AFTER_MS = 2_000;
const FAIL_FAST = {
  maxRetriesPerRequest: 1,
  commandTimeout: FAIL_FAST_AFTER_MS,
  connectTimeout: 5_000,
  retryStrategy: reconnectWithinASecond,
} as const;

function queueImports(connection: typeof WAIT_FOR_REDIS | typeof FAIL_FAST): DynamicModule[] {
  return [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.redis.queueUrl, ...connection },
        prefix: `${config.redis.keyPrefix}:queue`,
      }),
    }),
    BullModule.registerQueue(...QUEUES),
  ];
}

/** The queues and their producer; the worker adds its processors on top of this module. */
@Global()
@Module({
  imports: queueImports(WAIT_FOR_REDIS),
  providers: [JobProducer],
  exports: [BullModule, JobProducer],
})
export class QueueModule {}

/** The same queues for the API, whose enqueues fail fast while the queue Redis is away. */
@Global()
@Module({
  imports: queueImports(FAIL_FAST),
  providers: [JobProducer],
  exports: [BullModule, JobProducer],
})
export class RequestQueueModule {}
