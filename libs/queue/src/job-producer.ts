import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';

import type { JobPayloads } from './job-payloads.js';
import { jobOptions } from './job-options.js';
import { JobName, QUEUE_OF_JOB, QueueName } from './queue-names.js';

/** Enqueues any job with its typed payload and the options `jobOptions` decides for it. */
@Injectable()
export class JobProducer {
  private readonly queues: Readonly<Record<QueueName, Queue>>;

  constructor(
    @InjectQueue(QueueName.Sync) syncQueue: Queue,
    @InjectQueue(QueueName.Parse) parseQueue: Queue,
    @InjectQueue(QueueName.Send) sendQueue: Queue,
    @InjectQueue(QueueName.Actions) actionsQueue: Queue,
  ) {
    this.queues = { [QueueName.Sync]: syncQueue, [QueueName.Parse]: parseQueue, [QueueName.Send]: sendQueue, [QueueName.Actions]: actionsQueue };
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<Job<JobPayloads[N]>> {
    const job = await this.queueFor(name).add(name, payload, jobOptions(name, payload));
    return job as Job<JobPayloads[N]>;
  }

  /** Like enqueue for several jobs of one kind, added in one round trip to Redis (Queue.addBulk); answers in order. */
  async enqueueMany<N extends JobName>(name: N, payloads: readonly JobPayloads[N][]): Promise<Job<JobPayloads[N]>[]> {
    const jobs = await this.queueFor(name).addBulk(payloads.map((payload) => ({ name, data: payload, opts: jobOptions(name, payload) })));
    return jobs as Job<JobPayloads[N]>[];
  }

  /** Drops jobs of an account that have not started yet; a running one, or a send (keyed by its outbound record), finds its rows gone and stops. */
  async removePendingJobsOfAccount(tenantId: string, accountId: string): Promise<number> {
    let removed = 0;
    for (const queue of this.allQueues()) {
      const pending = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
      for (const job of pending) {
        const data = job.data as { tenantId?: unknown; accountId?: unknown };
        if (data.tenantId === tenantId && data.accountId === accountId) {
          await job.remove();
          removed += 1;
        }
      }
    }
    return removed;
  }

  queueFor(name: JobName): Queue {
    return this.queues[QUEUE_OF_JOB[name]];
  }

  allQueues(): Queue[] {
    return Object.values(this.queues);
  }
}
