import type { JobsOptions } from 'bullmq';

import type { JobPayloads } from './job-payloads.js';
import { JobName } from './queue-names.js';

const KEEP_COMPLETED = { age: 24 * 3600, count: 1000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 };

/**
 * The single place job options are decided. Sync and parse jobs are deduplicated per target while
 * queued or running, so a manual trigger and the cron collapse into one run, and so do the push
 * notifications of one folder.
 */
export function jobOptions<N extends JobName>(name: N, payload: JobPayloads[N]): JobsOptions {
  const common: JobsOptions = { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED };
  switch (name) {
    case JobName.SyncAccount: {
      const { tenantId, accountId, trigger, folder } = payload as JobPayloads[JobName.SyncAccount];
      // A push (IDLE event, watcher poll) gets a key of its own per folder: folded into the
      // account's key, it would be dropped while a full sync runs that already passed the folder,
      // and the mail it announced would wait for the next cron. Runs of one account still never
      // overlap: the worker's sync lease sends the second job back to wait.
      const key =
        trigger === 'push' ? `sync-push:${tenantId}:${accountId}:${folder ?? '*'}` : `sync:${tenantId}:${accountId}`;
      return {
        ...common,
        attempts: 3,
        backoff: { type: 'exponential', delay: 30_000 },
        deduplication: { id: key },
      };
    }
    case JobName.ParseMessage: {
      const { messageId } = payload as JobPayloads[JobName.ParseMessage];
      return {
        ...common,
        attempts: 3,
        backoff: { type: 'exponential', delay: 5_000 },
        deduplication: { id: `parse:${messageId}` },
      };
    }
    case JobName.SendEmail: {
      // The job id is the send record: a second enqueue of the same record is a no-op (BullMQ
      // refuses ':' in custom ids, hence the dash). SMTP
      // retries are decided by the processor's own state machine (it reschedules the job);
      // BullMQ attempts only cover infrastructure failures (database or Redis unavailable).
      const { sendRecordId } = payload as JobPayloads[JobName.SendEmail];
      return { ...common, jobId: `send-${sendRecordId}`, attempts: 8, backoff: { type: 'exponential', delay: 5_000 } };
    }
    case JobName.SyncDraft: {
      // One job per draft version; each mirrors the latest state, so stale ones finish as no-ops.
      const { draftId, version, removed } = payload as JobPayloads[JobName.SyncDraft];
      return {
        ...common,
        jobId: `draft-${draftId}-v${version}${removed ? '-removed' : ''}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: 5_000 },
      };
    }
    case JobName.ApplyMessageAction: {
      // One job per recorded action; a server that is down is retried a few times before the
      // optimistic change is undone, so the user is not left looking at a state that never happens.
      const { actionId } = payload as JobPayloads[JobName.ApplyMessageAction];
      return { ...common, attempts: 5, backoff: { type: 'exponential', delay: 2_000 }, jobId: `action-${actionId}` };
    }
    case JobName.ApplyBulkAction: {
      // One job per bulk record. A retry (or a stalled job taken over) goes on with the members
      // still pending, so nothing is applied twice or skipped.
      const { bulkActionId } = payload as JobPayloads[JobName.ApplyBulkAction];
      return { ...common, attempts: 5, backoff: { type: 'exponential', delay: 2_000 }, jobId: `bulk-${bulkActionId}` };
    }
    case JobName.DeliverWebhook: {
      // One job per delivery, so the dispatcher, the job before it and reconciliation may all ask
      // for it without doubling it. An endpoint's failures are retried by the processor from the
      // delay kept on the delivery row (moveToDelayed); these attempts only cover the database or
      // Redis failing under the job.
      const { deliveryId } = payload as JobPayloads[JobName.DeliverWebhook];
      return { ...common, jobId: `webhook-${deliveryId}`, attempts: 5, backoff: { type: 'exponential', delay: 5_000 } };
    }
  }
}
