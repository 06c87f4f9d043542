import type { AppConfig } from '@app/config';
import { handledJobs, QUEUE_OF_JOB } from '@app/queue';
import { Processor } from '@nestjs/bullmq';
import type { Provider, Type } from '@nestjs/common';

import { ApplyBulkActionProcessor } from './apply-bulk-action.processor.js';
import { ApplyMessageActionProcessor } from './apply-message-action.processor.js';
import { DeliverWebhookProcessor } from './deliver-webhook.processor.js';
import { ParseMessageProcessor } from './parse-message.processor.js';
import { SendEmailProcessor } from './send-email.processor.js';
import { SyncAccountProcessor } from './sync-account.processor.js';
import { SyncDraftProcessor } from './sync-draft.processor.js';

/**
 * Every processor class of the worker. `main.ts` checks this list against the job names before
 * connecting to anything, so a job without a handler (or with two) stops the boot.
 */
/**
 * How often a job may be found orphaned by a dead worker (SIGKILL, OOM, node lost) and still be
 * taken over. BullMQ's default of 1 fails a job outright on its second orphaning, which left a
 * first sync interrupted twice stuck half done until the next cron. Every job here resumes or
 * finishes safely after a crash (sync lease and checkpoints, the send state machine, idempotent
 * parse and actions), so only a job that itself kills its worker each time should end this way.
 */
const MAX_STALLS_PER_JOB = 10;

export const PROCESSORS: Type[] = [
  SyncAccountProcessor,
  ParseMessageProcessor,
  SendEmailProcessor,
  SyncDraftProcessor,
  ApplyMessageActionProcessor,
  ApplyBulkActionProcessor,
  DeliverWebhookProcessor,
];

/**
 * The processors with their BullMQ worker options taken from the validated configuration.
 * `@Processor` options are read when BullMQ's worker is created, before any hook of ours runs,
 * so each processor is provided as a subclass decorated with this boot's options.
 */
export function processorProviders(config: AppConfig): Provider[] {
  return PROCESSORS.map((processor) => {
    const [job] = handledJobs(processor);
    if (!job) throw new Error(`${processor.name} handles no job`);
    const configured = class extends processor {};
    Object.defineProperty(configured, 'name', { value: processor.name });
    Processor(QUEUE_OF_JOB[job], {
      lockDuration: config.worker.jobLockMs,
      stalledInterval: config.worker.stalledCheckMs,
      maxStalledCount: MAX_STALLS_PER_JOB,
    })(configured);
    return { provide: processor, useClass: configured };
  });
}
