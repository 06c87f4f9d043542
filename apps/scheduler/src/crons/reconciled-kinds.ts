import {
  BulkActionRepository,
  DraftRepository,
  MessageActionRepository,
  SendRecordRepository,
  SyncRunRepository,
  WebhookDeliveryRepository,
} from '@app/database';
import type {
  DraftAwaitingMirror,
  UnfinishedBulkAction,
  PendingMessageAction,
  SendAwaitingJob,
  SyncRun,
  WebhookDeliveryHead,
} from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import type { JobPresence, SyncAccountPayload } from '@app/queue';
import { Injectable } from '@nestjs/common';

/** Set on a message action whose job ended without applying or undoing it. */
export const ACTION_JOB_ENDED_REASON =
  "the change could not be applied on the IMAP server (its job ended without settling it), so it was undone here; the next sync shows the server's state";
/** Set on a sync run whose job ended without finishing it. */
export const SYNC_JOB_ENDED_REASON =
  'its job ended without running it (the account was inactive, backing off, or the job failed); a later sync supersedes it';

/** What reconciliation did with one record whose job was not there to move it on. */
export type ReconcileAction = 'enqueued' | 'settled';

/**
 * One kind of record that waits in PostgreSQL for a queue job. Reconciliation asks each kind, in
 * the record's tenant, for the records waiting, where their job stands, and acts on the ones whose
 * job is missing (enqueued again, same id as the first time) or ended without settling them.
 * Adding a kind (scheduled sends, say) is one more entry in ReconciledKinds.
 */
export interface ReconciledKind<R> {
  readonly name: string;
  awaiting(): Promise<R[]>;
  presence(tenantId: string, record: R): Promise<JobPresence>;
  /** The job is gone: enqueue it again. */
  enqueueAgain(tenantId: string, record: R): Promise<void>;
  /** The job ended with the record still waiting: enqueue again, or settle the record for good. */
  afterEnded(tenantId: string, record: R): Promise<ReconcileAction>;
}

function sendKind(sendRecords: SendRecordRepository, producer: JobProducer): ReconciledKind<SendAwaitingJob> {
  const payload = (tenantId: string, record: SendAwaitingJob) => ({ tenantId, sendRecordId: record.id });
  const enqueueAgain = async (tenantId: string, record: SendAwaitingJob): Promise<void> => {
    const delayMs = record.nextAttemptAt ? Math.max(0, record.nextAttemptAt.getTime() - Date.now()) : 0;
    await producer.enqueueAgain(JobName.SendEmail, payload(tenantId, record), delayMs);
  };
  return {
    name: 'sends',
    awaiting: () => sendRecords.findAwaitingJob(),
    presence: (tenantId, record) => producer.presence(JobName.SendEmail, payload(tenantId, record)),
    enqueueAgain,
    // The record's claim, not the job, guards SMTP: a new job of a record another attempt still
    // holds waits for that claim to end, so running the send state machine again is always safe.
    afterEnded: async (tenantId, record) => {
      await enqueueAgain(tenantId, record);
      return 'enqueued';
    },
  };
}

function syncRunKind(runs: SyncRunRepository, producer: JobProducer): ReconciledKind<SyncRun> {
  const payload = (tenantId: string, run: SyncRun): SyncAccountPayload => ({
    tenantId,
    accountId: run.accountId,
    trigger: run.trigger,
    syncRunId: run.id,
    ...(run.full ? { full: true } : {}),
  });
  return {
    name: 'syncRuns',
    awaiting: () => runs.findUnfinished(),
    presence: (tenantId, run) => producer.presence(JobName.SyncAccount, payload(tenantId, run), run.jobId),
    // Deduplicated per account: a sync of the account queued meanwhile absorbs this one, and
    // supersedes the run when it starts. A run still running on a live worker after its job was
    // lost is covered by the account's lease: the new job waits for it (or, when the lease was
    // lost too, the holder stops at its next renewal).
    enqueueAgain: async (tenantId, run) => {
      const job = await producer.enqueueAgain(JobName.SyncAccount, payload(tenantId, run));
      if (job.id && job.data.syncRunId === run.id) await runs.setJobId(run.id, job.id);
    },
    // The worker skips a job for an account that is inactive or backing off: running it again
    // would end the same way, so the run is closed and the next due sync does the work.
    afterEnded: async (_tenantId, run) => {
      await runs.failIfUnfinished(run.id, SYNC_JOB_ENDED_REASON);
      return 'settled';
    },
  };
}

function messageActionKind(
  actions: MessageActionRepository,
  producer: JobProducer,
): ReconciledKind<PendingMessageAction> {
  const payload = (tenantId: string, action: PendingMessageAction) => ({
    tenantId,
    accountId: action.accountId,
    messageId: action.messageId,
    actionId: action.id,
  });
  return {
    name: 'messageActions',
    awaiting: () => actions.findPending(),
    presence: (tenantId, action) => producer.presence(JobName.ApplyMessageAction, payload(tenantId, action)),
    enqueueAgain: async (tenantId, action) => {
      await producer.enqueueAgain(JobName.ApplyMessageAction, payload(tenantId, action));
    },
    // Its retries are spent (or it stalled too often): the change is undone as a refusal would
    // undo it, rather than tried for ever. Records come newest first, so undoing goes backwards.
    afterEnded: async (_tenantId, action) => {
      await actions.revert(action.id, ACTION_JOB_ENDED_REASON);
      return 'settled';
    },
  };
}

function bulkActionKind(bulks: BulkActionRepository, producer: JobProducer): ReconciledKind<UnfinishedBulkAction> {
  const payload = (tenantId: string, bulk: UnfinishedBulkAction) => ({
    tenantId,
    accountId: bulk.accountId,
    bulkActionId: bulk.id,
  });
  return {
    name: 'bulkActions',
    awaiting: () => bulks.findUnfinished(),
    presence: (tenantId, bulk) => producer.presence(JobName.ApplyBulkAction, payload(tenantId, bulk)),
    // The new job starts with the members still pending: none is applied twice or skipped.
    enqueueAgain: async (tenantId, bulk) => {
      await producer.enqueueAgain(JobName.ApplyBulkAction, payload(tenantId, bulk));
    },
    // Its retries are spent: the members still pending are undone as single actions would be.
    afterEnded: async (_tenantId, bulk) => {
      await bulks.failRemaining(bulk.id, ACTION_JOB_ENDED_REASON);
      return 'settled';
    },
  };
}

function draftMirrorKind(producer: JobProducer, drafts: DraftRepository): ReconciledKind<DraftAwaitingMirror> {
  const payload = (tenantId: string, draft: DraftAwaitingMirror) => ({
    tenantId,
    accountId: draft.accountId,
    draftId: draft.draftId,
    version: draft.version,
    ...(draft.removed ? { removed: true } : {}),
  });
  const enqueueAgain = async (tenantId: string, draft: DraftAwaitingMirror): Promise<void> => {
    await producer.enqueueAgain(JobName.SyncDraft, payload(tenantId, draft));
  };
  return {
    name: 'draftMirrors',
    awaiting: () => drafts.findAwaitingMirror(),
    presence: (tenantId, draft) => producer.presence(JobName.SyncDraft, payload(tenantId, draft)),
    enqueueAgain,
    // Mirroring converges on the current state whatever ran before, so it is simply run again.
    afterEnded: async (tenantId, draft) => {
      await enqueueAgain(tenantId, draft);
      return 'enqueued';
    },
  };
}

function webhookDeliveryKind(
  deliveries: WebhookDeliveryRepository,
  producer: JobProducer,
): ReconciledKind<WebhookDeliveryHead> {
  const payload = (tenantId: string, head: WebhookDeliveryHead) => ({
    tenantId,
    webhookId: head.webhookId,
    accountId: head.accountId,
    deliveryId: head.id,
  });
  const enqueueAgain = async (tenantId: string, head: WebhookDeliveryHead): Promise<void> => {
    await producer.enqueueAgain(
      JobName.DeliverWebhook,
      payload(tenantId, head),
      Math.max(0, head.nextAttemptAt.getTime() - Date.now()),
    );
  };
  return {
    name: 'webhookDeliveries',
    // Only the head of each (webhook, account) waits for a job; the ones behind it get theirs as it settles.
    awaiting: () => deliveries.heads(),
    presence: (tenantId, head) => producer.presence(JobName.DeliverWebhook, payload(tenantId, head)),
    enqueueAgain,
    // A job that ended with its delivery still the pending head ran while an older one was being
    // redelivered, or failed on the database: its attempt is simply due again.
    afterEnded: async (tenantId, head) => {
      await enqueueAgain(tenantId, head);
      return 'enqueued';
    },
  };
}

export interface KindCounts {
  /** Records whose job was missing, or ended and was enqueued again. */
  enqueued: number;
  /** Records whose job ended without settling them, settled for good. */
  settled: number;
}

/** Presence lookups sent to Redis at once: one round trip's worth, without holding a tenant's whole backlog in flight. */
const PRESENCE_BATCH = 100;

/** One kind, with its records' type hidden, so the kinds can sit in one list. */
export interface KindReconciler {
  readonly name: string;
  /** Must run in the tenant's context. */
  reconcile(tenantId: string): Promise<KindCounts>;
}

function reconcilerOf<R>(kind: ReconciledKind<R>): KindReconciler {
  return {
    name: kind.name,
    reconcile: async (tenantId) => {
      const counts: KindCounts = { enqueued: 0, settled: 0 };
      const records = await kind.awaiting();
      for (let start = 0; start < records.length; start += PRESENCE_BATCH) {
        const batch = records.slice(start, start + PRESENCE_BATCH);
        const presences = await Promise.all(batch.map((record) => kind.presence(tenantId, record)));
        // Acted on one by one, in the kind's order (message actions are undone newest first).
        for (const [index, record] of batch.entries()) {
          const presence = presences[index];
          if (presence === 'missing') {
            await kind.enqueueAgain(tenantId, record);
            counts.enqueued += 1;
          } else if (presence === 'ended') {
            counts[(await kind.afterEnded(tenantId, record)) === 'enqueued' ? 'enqueued' : 'settled'] += 1;
          }
        }
      }
      return counts;
    },
  };
}

/** Every kind of record reconciliation looks after; adding a kind is one more entry here. */
@Injectable()
export class ReconciledKinds {
  readonly all: readonly KindReconciler[];

  constructor(
    producer: JobProducer,
    sendRecords: SendRecordRepository,
    runs: SyncRunRepository,
    actions: MessageActionRepository,
    bulks: BulkActionRepository,
    drafts: DraftRepository,
    webhookDeliveries: WebhookDeliveryRepository,
  ) {
    this.all = [
      reconcilerOf(sendKind(sendRecords, producer)),
      reconcilerOf(syncRunKind(runs, producer)),
      reconcilerOf(messageActionKind(actions, producer)),
      reconcilerOf(bulkActionKind(bulks, producer)),
      reconcilerOf(draftMirrorKind(producer, drafts)),
      reconcilerOf(webhookDeliveryKind(webhookDeliveries, producer)),
    ];
  }
}
