/**
 * The worker's part of a send, in a process of its own as in a deployment: the worker's own
 * module (every processor, the send processor at SEND_CONCURRENCY, pooled SMTP transports), with
 * one change: the sink counts as a provider that files Sent copies itself, since it is no IMAP
 * server, so the work measured is the SMTP submission the baseline does too.
 *
 * On `await`, it counts send jobs as BullMQ completes them (after the record is marked sent and
 * the job is acknowledged) and reports when the last one of the round is done, with the CPU time
 * this process used meanwhile.
 */
import { loadConfig } from '@app/config';
import { JobName } from '@app/queue';
import { Test } from '@nestjs/testing';
import type { Job } from 'bullmq';

import { SendEmailProcessor } from '../../apps/worker/src/processors/send-email.processor.js';
import { DEFAULT_SENT_COPY_POLICY, SENT_COPY_POLICY } from '../../apps/worker/src/send/index.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { cpuMsSince, epochMs } from './clock.js';

export type WorkerRequest = { type: 'await'; count: number } | { type: 'stop' };
export type WorkerReply = { type: 'ready' } | { type: 'awaiting' } | { type: 'drained'; at: number; cpuMs: number };
/** Sent instead of a reply when a send job fails: the round cannot count. */
export interface WorkerFailure {
  type: 'failed';
  reason: string;
}

const SINK_HOST = '127.0.0.1';
const config = loadConfig(process.env);
const module = await Test.createTestingModule({ imports: [WorkerModule.forRoot(config)] })
  .overrideProvider(SENT_COPY_POLICY)
  .useValue({ selfFilingSmtpHosts: [...DEFAULT_SENT_COPY_POLICY.selfFilingSmtpHosts, SINK_HOST] })
  .compile();
const app = await module.init();
const worker = app.get(SendEmailProcessor).worker;

const send = (reply: WorkerReply | WorkerFailure): void => {
  process.send?.(reply);
};
let remaining = 0;
let cpu = process.cpuUsage();
worker.on('completed', (job: Job) => {
  if (job.name !== String(JobName.SendEmail) || remaining === 0) return;
  remaining -= 1;
  if (remaining === 0) send({ type: 'drained', at: epochMs(), cpuMs: cpuMsSince(cpu) });
});
worker.on('failed', (job: Job | undefined, error: Error) => {
  send({ type: 'failed', reason: `${job?.id ?? 'a job'}: ${error.message}` });
});

process.on('message', (request: WorkerRequest) => {
  if (request.type === 'await') {
    remaining = request.count;
    cpu = process.cpuUsage();
    send({ type: 'awaiting' });
  } else {
    void app.close().then(() => process.exit(0));
  }
});
await worker.waitUntilReady();
send({ type: 'ready' });

// Never outlive the benchmark, also when it dies before stopping this process.
process.on('disconnect', () => process.exit(1));
