import { AppConfig } from '@app/config';
import {
  ChangeNotifications,
  TenantRepository,
  WebhookCursorRepository,
  WebhookDeliveryRepository,
  WebhookRepository,
} from '@app/database';
import type { Webhook } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';

import { deliveriesFor } from './webhook-events.js';

/** Changes turned into deliveries per transaction. */
const BATCH = 500;
/** A head due this long without a job is stranded, not merely waiting for a free worker slot. */
const STRANDED_AFTER_MS = 1_000;

/**
 * Turns an account's new changes into webhook deliveries and asks for the job of each
 * (webhook, account)'s oldest pending delivery. It wakes on the change log's notifications
 * (ChangeNotifications), and sweeps every WEBHOOK_SWEEP_SECONDS and after the listener reconnects
 * for what a lost notification left behind: a lost notification only
 * delays a delivery. Every worker replica does this; the cursor row each batch locks and moves
 * makes them take turns, so a change becomes one delivery per webhook however many notice it.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private sweepRun: Promise<void> | null = null;
  /** Accounts being dispatched, by `<tenant> <account>`: true when a notification came in meanwhile. */
  private readonly running = new Map<string, boolean>();

  constructor(
    private readonly config: AppConfig,
    private readonly tenantContext: TenantContext,
    private readonly tenants: TenantRepository,
    private readonly webhooks: WebhookRepository,
    private readonly cursors: WebhookCursorRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly jobs: JobProducer,
    private readonly notifications: ChangeNotifications,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.webhooks.sweepMs);
    // No notice: the listener reconnected, and what was notified meanwhile is swept up.
    this.unsubscribe = await this.notifications.subscribe(null, (notice) =>
      notice ? void this.dispatchAccount(notice.tenantId, notice.accountId) : void this.sweep(),
    );
    void this.sweep();
  }

  /** Before the database connections close: a sweep still going would fail on them. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.unsubscribe?.();
    await this.sweepRun;
  }

  /** Every tenant's (webhook, account) pairs that are behind; one at a time per worker. */
  async sweep(): Promise<void> {
    if (this.sweepRun || this.stopped) return;
    this.sweepRun = this.sweepTenants().finally(() => {
      this.sweepRun = null;
    });
    await this.sweepRun;
  }

  private async sweepTenants(): Promise<void> {
    try {
      for (const tenantId of await this.tenants.listIds()) {
        if (this.stopped) return;
        await this.tenantContext.run(tenantId, async () => {
          for (const { webhookId, accountId } of await this.cursors.behind()) {
            const webhook = await this.webhooks.findById(webhookId);
            if (webhook?.active) await this.dispatch(webhook, accountId);
          }
          await this.requestStrandedHeads();
        });
      }
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Sweeping for undispatched webhook changes failed');
    }
  }

  /** Dispatches the account's changes to each of its webhooks; a notification during a run makes it run once more. */
  async dispatchAccount(tenantId: string, accountId: string): Promise<void> {
    const key = `${tenantId} ${accountId}`;
    if (this.running.has(key)) {
      this.running.set(key, true);
      return;
    }
    this.running.set(key, false);
    try {
      do {
        this.running.set(key, false);
        await this.tenantContext.run(tenantId, async () => {
          for (const webhook of await this.webhooks.activeForAccount(accountId))
            await this.dispatch(webhook, accountId);
        });
      } while (this.running.get(key) === true);
    } catch (error: unknown) {
      this.logger.error({ err: error, tenantId, accountId }, 'Dispatching webhook changes failed; the sweep retries');
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * Heads due for a while with no job waiting or running. A job that finds it is not the head
   * ends, and one sending the queue behind its own asks for the next head's job: when it asks
   * while that job is still running towards the same conclusion, nobody is left to send the head.
   * Asking here bounds that to one sweep instead of a reconciliation period.
   */
  private async requestStrandedHeads(): Promise<void> {
    for (const head of await this.deliveries.unclaimedHeadsDueBefore(new Date(Date.now() - STRANDED_AFTER_MS))) {
      const payload = {
        tenantId: this.tenantContext.tenantId,
        webhookId: head.webhookId,
        accountId: head.accountId,
        deliveryId: head.id,
      };
      if ((await this.jobs.presence(JobName.DeliverWebhook, payload)) !== 'present')
        await this.jobs.enqueueAgain(JobName.DeliverWebhook, payload);
    }
  }

  private async dispatch(webhook: Webhook, accountId: string): Promise<void> {
    let created = 0;
    for (;;) {
      const batch = await this.cursors.dispatchBatch(webhook.id, accountId, BATCH, (changes) =>
        deliveriesFor(webhook, changes),
      );
      created += batch.created;
      if (batch.read < BATCH) break;
    }
    if (created === 0) return;
    // Asked for after the deliveries committed: a job that settles the head after this read sees them.
    const head = await this.deliveries.head(webhook.id, accountId);
    if (!head) return;
    await this.jobs.enqueueAgain(
      JobName.DeliverWebhook,
      { tenantId: this.tenantContext.tenantId, webhookId: webhook.id, accountId, deliveryId: head.id },
      Math.max(0, head.nextAttemptAt.getTime() - Date.now()),
    );
  }
}
