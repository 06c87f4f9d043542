import { Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** Every state a BullMQ job can wait or end in. */
const JOB_STATES = ['waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'failed', 'completed'] as const;
/** A scrape must not hang on a Redis that is away; a queue that does not answer in time is left out of that scrape. */
const READ_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Jobs per queue and state, read from Redis when scraped (one script call per queue). The numbers
 * are the same from every process, so they go into the registry that is not summed over a cluster.
 */
export class QueueDepthMetrics {
  private readonly logger = new Logger(QueueDepthMetrics.name);

  constructor(registry: Registry, queues: readonly Queue[]) {
    const logger = this.logger;
    new Gauge({
      name: 'queue_depth',
      help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time (the same from every API process and replica)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        await Promise.all(
          queues.map(async (queue) => {
            try {
              const counts = await withTimeout(queue.getJobCounts(...JOB_STATES), READ_TIMEOUT_MS);
              for (const state of JOB_STATES) this.labels(queue.name, state).set(counts[state] ?? 0);
            } catch (error: unknown) {
              logger.warn({ err: error, queue: queue.name }, 'Could not read the queue depth for this scrape');
            }
          }),
        );
      },
    });
  }
}
