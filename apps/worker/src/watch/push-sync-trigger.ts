import { JobName, JobProducer } from '@app/queue';
import type { SyncAccountPayload } from '@app/queue';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';

/** Events of one folder closer together than this become one sync (a delivery is EXISTS then FETCH). */
const DEBOUNCE_MS = 200;
/** How soon to ask again when the sync a push was folded into had started before the push. */
const COVERED_RETRY_MS = 1_000;
/** Clocks of worker hosts differ: a sync that started this close after the event may still predate it. */
const CLOCK_MARGIN_MS = 1_000;
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

interface PendingPush {
  payload: SyncAccountPayload;
  /** When the latest event of this batch arrived: the sync must start after it to see it. */
  lastEventAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Turns a watcher's events into SyncAccount jobs of the one sync engine: debounced per folder,
 * deduplicated per folder by the queue (`jobOptions`). A push folded into a job that had already
 * started before the push arrived may have missed the change, so it is asked for again until a
 * job that had not started yet (or started after the push) carries it.
 */
@Injectable()
export class PushSyncTrigger implements OnApplicationShutdown {
  private readonly logger = new Logger(PushSyncTrigger.name);
  private readonly pending = new Map<string, PendingPush>();

  constructor(private readonly producer: JobProducer) {}

  request(tenantId: string, accountId: string, folder?: string, delayMs = DEBOUNCE_MS): void {
    const key = `${accountId}:${folder ?? '*'}`;
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.lastEventAt = Date.now();
      return;
    }
    const payload: SyncAccountPayload = { tenantId, accountId, trigger: 'push', ...(folder ? { folder } : {}) };
    const push: PendingPush = {
      payload,
      lastEventAt: Date.now(),
      timer: setTimeout(() => void this.flush(key, push), delayMs),
    };
    this.pending.set(key, push);
  }

  /** Drops the pushes of an account no longer watched here. */
  forget(accountId: string): void {
    for (const [key, push] of this.pending)
      if (push.payload.accountId === accountId) {
        clearTimeout(push.timer);
        this.pending.delete(key);
      }
  }

  onApplicationShutdown(): void {
    for (const push of this.pending.values()) clearTimeout(push.timer);
    this.pending.clear();
  }

  private async flush(key: string, push: PendingPush): Promise<void> {
    let covered = false;
    try {
      const askedAt = Date.now();
      const job = await this.producer.enqueue(JobName.SyncAccount, push.payload);
      const queue = this.producer.queueFor(JobName.SyncAccount);
      const stored = job.id ? await queue.getJob(job.id) : undefined;
      const state = stored ? await stored.getState() : 'unknown';
      // Added by this call (not folded into an older job), or not started, or started well after the push.
      covered =
        NOT_STARTED.has(state) ||
        (stored !== undefined && stored.timestamp >= askedAt) ||
        (stored?.processedOn !== undefined && stored.processedOn >= push.lastEventAt + CLOCK_MARGIN_MS);
    } catch (error: unknown) {
      this.logger.warn({ err: error, accountId: push.payload.accountId }, 'Could not enqueue a push sync');
    }
    if (this.pending.get(key) !== push) return;
    if (covered) {
      this.pending.delete(key);
      return;
    }
    push.timer = setTimeout(() => void this.flush(key, push), COVERED_RETRY_MS);
  }
}
