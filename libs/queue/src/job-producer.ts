import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Job, JobsOptions, JobState, Queue } from 'bullmq';

import type { JobPayloads } from './job-payloads.js';
import { jobOptions } from './job-options.js';
import { JobName, QUEUE_OF_JOB, QueueName } from './queue-names.js';

/**
 * Where the job a record waits for stands in its queue: waiting, delayed or running (`present`);
 * completed or failed and still kept by removeOnComplete/removeOnFail (`ended`), which blocks a new
 * job of the same id, since Queue.add answers any existing id with that job and adds nothing; or
 * gone (`missing`): removed by age, or lost with the queue's Redis.
 */
export type JobPresence = 'present' | 'ended' | 'missing';

function presenceOf(state: JobState | 'unknown'): JobPresence {
  if (state === 'unknown') return 'missing';
  return state === 'completed' || state === 'failed' ? 'ended' : 'present';
}

function delayedOptions<N extends JobName>(name: N, payload: JobPayloads[N], delayMs: number): JobsOptions {
  const options = jobOptions(name, payload);
  return delayMs > 0 ? { ...options, delay: delayMs } : options;
}

/** Enqueues any job with its typed payload and the options `jobOptions` decides for it. */
@Injectable()
export class JobProducer {
  private readonly queues: Readonly<Record<QueueName, Queue>>;

  constructor(
    @InjectQueue(QueueName.Sync) syncQueue: Queue,
    @InjectQueue(QueueName.Parse) parseQueue: Queue,
    @InjectQueue(QueueName.Send) sendQueue: Queue,
    @InjectQueue(QueueName.Drafts) draftsQueue: Queue,
    @InjectQueue(QueueName.Actions) actionsQueue: Queue,
    @InjectQueue(QueueName.BulkActions) bulkActionsQueue: Queue,
    @InjectQueue(QueueName.Webhooks) webhooksQueue: Queue,
  ) {
    this.queues = {
      [QueueName.Sync]: syncQueue,
      [QueueName.Parse]: parseQueue,
      [QueueName.Send]: sendQueue,
      [QueueName.Drafts]: draftsQueue,
      [QueueName.Actions]: actionsQueue,
      [QueueName.BulkActions]: bulkActionsQueue,
      [QueueName.Webhooks]: webhooksQueue,
    };
  }

  /** `delayMs`: the job waits that long before a worker may take it (a scheduled send). */
  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], delayMs = 0): Promise<Job<JobPayloads[N]>> {
    const job = await this.queueFor(name).add(name, payload, delayedOptions(name, payload, delayMs));
    return job as Job<JobPayloads[N]>;
  }

  /**
   * Like enqueue for several jobs of one kind, added in one round trip to Redis (Queue.addBulk);
   * answers in order. `delaysMs[i]` delays the i-th job (none when absent).
   */
  async enqueueMany<N extends JobName>(
    name: N,
    payloads: readonly JobPayloads[N][],
    delaysMs: readonly number[] = [],
  ): Promise<Job<JobPayloads[N]>[]> {
    const jobs = await this.queueFor(name).addBulk(
      payloads.map((payload, index) => ({
        name,
        data: payload,
        opts: delayedOptions(name, payload, delaysMs[index] ?? 0),
      })),
    );
    return jobs as Job<JobPayloads[N]>[];
  }

  /**
   * Removes the job `enqueue(name, payload)` added, when it is keyed by its record (jobId) and not
   * running: BullMQ leaves a job a worker holds locked, which then finds its record settled. False
   * when nothing was removed.
   */
  async removeUnlessRunning<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<boolean> {
    const jobId = jobOptions(name, payload).jobId;
    if (!jobId) throw new Error(`${name} jobs have no id of their own to remove them by`);
    return (await this.queueFor(name).remove(jobId)) === 1;
  }

  /**
   * Where the job `enqueue(name, payload)` added stands. A job keyed by its record (jobId) is
   * looked up by that id. A deduplicated one (sync) has a counter id: while it waits or runs, its
   * deduplication key names it; once it ended, only `previousJobId` recorded with the record can
   * find it, and is taken for the record's job only if it carries the same deduplication id
   * (counter ids start again from 1 in an emptied Redis and may name another account's job).
   */
  async presence<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    previousJobId: string | null = null,
  ): Promise<JobPresence> {
    const queue = this.queueFor(name);
    const options = jobOptions(name, payload);
    if (options.jobId) return presenceOf(await queue.getJobState(options.jobId));
    const deduplicationId = options.deduplication?.id;
    if (deduplicationId) {
      const live = await queue.getDeduplicationJobId(deduplicationId);
      if (live && presenceOf(await queue.getJobState(live)) === 'present') return 'present';
    }
    if (previousJobId === null) return 'missing';
    const previous = (await queue.getJob(previousJobId)) as Job<JobPayloads[N]> | undefined;
    if (!previous || previous.name !== name || jobOptions(name, previous.data).deduplication?.id !== deduplicationId)
      return 'missing';
    return presenceOf(await previous.getState());
  }

  /**
   * Enqueues again, with the same job id or deduplication id as `enqueue`, a job whose record still
   * waits for it: so a job that exists after all is not doubled. A job of that id that ended (kept
   * by removeOnComplete/removeOnFail) is removed first, or the add would do nothing. `delayMs`
   * keeps a retry's remaining delay.
   */
  async enqueueAgain<N extends JobName>(name: N, payload: JobPayloads[N], delayMs = 0): Promise<Job<JobPayloads[N]>> {
    const queue = this.queueFor(name);
    const options = jobOptions(name, payload);
    if (options.jobId && presenceOf(await queue.getJobState(options.jobId)) === 'ended')
      await queue.remove(options.jobId);
    const job = await queue.add(name, payload, delayedOptions(name, payload, delayMs));
    return job as Job<JobPayloads[N]>;
  }

  /** Drops jobs of an account that have not started yet; a running one, or a send (keyed by its send record), finds its rows gone and stops. */
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
