import { AppConfig } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import {
  ALL_WEBHOOK_EVENTS,
  MessageReadRepository,
  SendDeliveryReportRepository,
  SendRecordRepository,
  WebhookDeliveryRepository,
  webhookEventId,
  WebhookRepository,
} from '@app/database';
import type { SendState, Webhook, WebhookAttemptResult, WebhookDelivery, WebhookDeliveryHead } from '@app/database';
import { PolicyHttpClient } from '@app/mail';
import type { PolicyPostResult } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { signatureHeader } from './webhook-signature.js';

export type WebhookDeliveryOutcome =
  { state: 'delivered' | 'skipped' | 'disabled' | 'idle' } | { state: 'retry'; delayMs: number };

/** Retries never wait longer than this, however many came before. */
const MAX_RETRY_DELAY_MS = 3600_000;
/** Deliveries of one (webhook, account) a job sends in a row before it hands on to a new job. */
const RUN_LIMIT = 200;
/** How soon a job that found its delivery claimed by another attempt looks again. */
const CLAIMED_RECHECK_MS = 1_000;
/** Send states that are an event of their own when a send's record changes to them. */
const SEND_OUTCOME_STATES: readonly SendState[] = ['sent', 'failed', 'bounced'];
/** A claim outlives the attempt's timeout by this much, so it only lapses when its worker is gone. */
const CLAIM_MARGIN_MS = 30_000;

export function retryDelayMs(baseMs: number, attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempts - 1));
}

function subscribes(webhook: Webhook, type: string): boolean {
  return webhook.events.includes(ALL_WEBHOOK_EVENTS) || webhook.events.includes(type);
}

function attemptResult(post: PolicyPostResult): WebhookAttemptResult {
  return post.kind === 'answered'
    ? {
        responseStatus: post.status,
        durationMs: post.durationMs,
        error: post.status >= 200 && post.status < 300 ? null : `HTTP ${post.status}`,
      }
    : { responseStatus: null, durationMs: post.durationMs, error: post.error };
}

/**
 * One attempt at one delivery, and the order of a (webhook, account)'s deliveries.
 *
 * Only the oldest pending delivery of the pair (its head) goes out. A job for any other one finds
 * that and leaves, asking for the head's job instead. When the head is delivered or skipped, the
 * job goes on with the next head, so the deliveries of a pair follow one another in change-log
 * order and a failing one holds back the rest.
 *
 * A failed attempt is retried after a delay that doubles from WEBHOOK_RETRY_BASE_SECONDS (up to an
 * hour), kept on the delivery row. When the next retry would fall outside WEBHOOK_RETRY_HOURS from
 * the first attempt, the delivery fails and its webhook is disabled with the reason; the pending
 * deliveries behind it stay pending and go out, in order, once the client activates it again.
 */
@Injectable()
export class WebhookDeliveryService {
  constructor(
    private readonly config: AppConfig,
    private readonly tenant: TenantContext,
    private readonly webhooks: WebhookRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly sendRecords: SendRecordRepository,
    private readonly deliveryReports: SendDeliveryReportRepository,
    private readonly messages: MessageReadRepository,
    private readonly cipher: CredentialCipher,
    private readonly http: PolicyHttpClient,
    private readonly jobs: JobProducer,
  ) {}

  async deliver(webhookId: string, accountId: string, deliveryId: string): Promise<WebhookDeliveryOutcome> {
    let webhook = await this.webhooks.findById(webhookId);
    if (!webhook?.active) return { state: 'idle' };
    let head = await this.deliveries.head(webhookId, accountId);
    if (!head) return { state: 'idle' };
    if (head.id !== deliveryId) {
      await this.requestJob(head);
      return { state: 'idle' };
    }
    const outcome = await this.attemptHead(webhook, head);
    if (outcome.state !== 'delivered' && outcome.state !== 'skipped') return outcome;

    // The deliveries queued behind it go out from this job, in order, without a queue round trip
    // each (at 50 events a second those trips were most of a webhook's delay); one that has to wait,
    // or the rest after RUN_LIMIT, get a job of their own so other endpoints get their turn.
    for (let settled = 1; ; settled += 1) {
      webhook = await this.webhooks.findById(webhookId);
      head = await this.deliveries.head(webhookId, accountId);
      if (!webhook?.active || !head) return outcome;
      if (settled >= RUN_LIMIT || head.nextAttemptAt.getTime() > Date.now()) {
        await this.requestJob(head);
        return outcome;
      }
      const next = await this.attemptHead(webhook, head);
      if (next.state === 'retry') await this.requestNext(webhookId, accountId);
      if (next.state !== 'delivered' && next.state !== 'skipped') return outcome;
    }
  }

  /** One attempt at the pair's head, unless its retry is not due or another job's attempt holds it. */
  private async attemptHead(webhook: Webhook, head: WebhookDeliveryHead): Promise<WebhookDeliveryOutcome> {
    const due = head.nextAttemptAt.getTime() - Date.now();
    if (due > 0) return { state: 'retry', delayMs: due };

    const delivery = await this.deliveries.claim(head.id, this.config.webhooks.timeoutMs + CLAIM_MARGIN_MS);
    // Another job's attempt holds it, most often a job sending the deliveries queued behind its own,
    // which hands one that failed back to this job for the retry: look again soon, not after the
    // claim's whole length, or that retry would wait for it.
    if (!delivery) return { state: 'retry', delayMs: CLAIMED_RECHECK_MS };

    const event = await this.eventOf(webhook, delivery);
    if (event.kind === 'skip') {
      await this.deliveries.markSkipped(delivery.id, event.reason);
      return { state: 'skipped' };
    }
    return this.attempt(webhook, delivery, event.type, event.data);
  }

  /**
   * The event name and data as of now. A send's `updated` is `send.sent`, `send.failed` or
   * `send.bounced` by the record's state (a bounce's event carries the failed recipients); in any
   * other state, or when the webhook already had that event for the send, or does not take it,
   * there is nothing to deliver.
   */
  private async eventOf(
    webhook: Webhook,
    delivery: WebhookDelivery,
  ): Promise<{ kind: 'skip'; reason: string } | { kind: 'event'; type: string; data: object }> {
    const id = delivery.entityId;
    if (delivery.type.startsWith('send.')) {
      const record = await this.sendRecords.findById(id);
      let type = delivery.type;
      if (type === 'send.updated' || SEND_OUTCOME_STATES.some((state) => type === `send.${state}`)) {
        if (!record || !SEND_OUTCOME_STATES.some((state) => state === record.state))
          return { kind: 'skip', reason: `the send is ${record?.state ?? 'gone'}, which is no event` };
        type = `send.${record.state}`;
        if (!subscribes(webhook, type)) return { kind: 'skip', reason: `the webhook does not take ${type}` };
        if (await this.deliveries.hasOtherOfType(webhook.id, id, type, delivery.id))
          return { kind: 'skip', reason: `${type} was already delivered for this send` };
        if (type !== delivery.type) await this.deliveries.setType(delivery.id, type);
      }
      const data = record
        ? {
            id,
            state: record.state,
            attempts: record.attempts,
            messageId: record.messageId,
            lastResponse: record.lastResponse,
            createdAt: record.createdAt.toISOString(),
            sentAt: record.sentAt?.toISOString() ?? null,
            ...(type === 'send.bounced' ? { bounces: await this.bouncesOf(id) } : {}),
          }
        : { id };
      return { kind: 'event', type, data };
    }
    if (delivery.type === 'message.created' || delivery.type === 'message.updated') {
      const summary = await this.messages.findSummary(id);
      if (!summary) return { kind: 'event', type: delivery.type, data: { id } };
      return {
        kind: 'event',
        type: delivery.type,
        data: {
          id,
          accountId: summary.accountId,
          folder: summary.folderPath,
          subject: summary.subject,
          from:
            summary.fromAddress === null && summary.fromName === null
              ? null
              : { name: summary.fromName ?? '', address: summary.fromAddress ?? '' },
          to: summary.to,
          cc: summary.cc,
          date: new Date(summary.receivedAt).toISOString(),
          flags: summary.flags,
          snippet: summary.snippet,
          hasAttachments: summary.hasAttachments,
          threadId: summary.threadId,
          messageId: summary.messageId,
        },
      };
    }
    return { kind: 'event', type: delivery.type, data: { id } };
  }

  private async bouncesOf(sendRecordId: string): Promise<object[]> {
    const reports = await this.deliveryReports.forSend(sendRecordId);
    return reports
      .filter((report) => report.action === 'failed')
      .map((report) => ({
        recipient: report.recipient,
        status: report.status,
        diagnostic: report.diagnostic,
        category: report.category,
        at: report.reportedAt.toISOString(),
      }));
  }

  private async attempt(
    webhook: Webhook,
    delivery: WebhookDelivery,
    type: string,
    data: object,
  ): Promise<WebhookDeliveryOutcome> {
    const eventId = webhookEventId(delivery);
    const body = JSON.stringify({
      id: eventId,
      type,
      accountId: delivery.accountId,
      tenantId: this.tenant.tenantId,
      createdAt: delivery.changedAt.toISOString(),
      data,
    });
    const secret = this.cipher.decrypt(webhook.encryptedSecret);
    const post = await this.http.post(
      webhook.url,
      body,
      {
        'content-type': 'application/json',
        'user-agent': `${this.config.serviceName}-webhooks/${this.config.serviceVersion}`,
        'webhook-id': eventId,
        'webhook-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)),
      },
      this.config.webhooks.timeoutMs,
    );
    const result = attemptResult(post);
    if (result.error === null) {
      await this.deliveries.markDelivered(delivery.id, result);
      return { state: 'delivered' };
    }

    const { retryWindowMs, retryBaseMs } = this.config.webhooks;
    const delayMs = retryDelayMs(retryBaseMs, delivery.attempts + 1);
    const firstAttemptAt = delivery.firstAttemptAt?.getTime() ?? Date.now();
    if (Date.now() + delayMs - firstAttemptAt > retryWindowMs) {
      const hours = Math.round((retryWindowMs / 3600_000) * 100) / 100;
      await this.deliveries.failAndDisable(
        delivery.id,
        result,
        webhook.id,
        `deliveries failed for ${hours} h (event ${eventId}, last error: ${result.error})`,
      );
      return { state: 'disabled' };
    }
    await this.deliveries.markRetry(delivery.id, result, new Date(Date.now() + delayMs));
    return { state: 'retry', delayMs };
  }

  private async requestNext(webhookId: string, accountId: string): Promise<void> {
    const next = await this.deliveries.head(webhookId, accountId);
    if (next) await this.requestJob(next);
  }

  /** Enqueues the head's job unless it is queued or running; an ended one (it found itself not the head then) is replaced. */
  private async requestJob(head: WebhookDeliveryHead): Promise<void> {
    await this.jobs.enqueueAgain(
      JobName.DeliverWebhook,
      { tenantId: this.tenant.tenantId, webhookId: head.webhookId, accountId: head.accountId, deliveryId: head.id },
      Math.max(0, head.nextAttemptAt.getTime() - Date.now()),
    );
  }
}
