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
    @InjectQueue(QueueName.Send) sendQueue: Queue,
    @InjectQueue(QueueName.Parse) parseQueue: Queue,
  ) {
    this.queues = { [QueueName.Sync]: syncQueue, [QueueName.Send]: sendQueue, [QueueName.Parse]: parseQueue };
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<Job<JobPayloads[N]>> {
    const job = await this.queueFor(name).add(name, payload, jobOptions(name, payload));
    return job as Job<JobPayloads[N]>;
  }

  queueFor(name: JobName): Queue {
    return this.queues[QUEUE_OF_JOB[name]];
  }

  allQueues(): Queue[] {
    return Object.values(this.queues);
  }
}
