import { randomBytes } from 'node:crypto';

import { AppConfig } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import {
  AccountRepository,
  WebhookCursorRepository,
  WebhookDeliveryRepository,
  WebhookRepository,
} from '@app/database';
import type { Page, Webhook, WebhookChanges, WebhookDelivery, WebhookDeliveryHead } from '@app/database';
import { AccountNotFoundError, OutboundPolicy, OutboundRefusedError } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext, TenantScope } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';

import type { CreateWebhookDto, UpdateWebhookDto } from './dto/webhook.dto.js';
import {
  WebhookDeliveryNotFoundError,
  WebhookNotFoundError,
  WebhookTargetNotAllowedError,
  WebhookUrlInvalidError,
} from './errors.js';

/** A webhook with the secret just generated for it, which is never shown again. */
export interface WebhookWithSecret {
  webhook: Webhook;
  secret: string;
}

/** 32 random bytes; the prefix tells a leaked string for what it is. */
function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * The tenant's webhook endpoints. A URL must pass OUTBOUND_POLICY when it is saved (the decision
 * only: nothing connects to it here) and again at every delivery, since its name may resolve
 * elsewhere later. A webhook follows changes from the moment it is created (or activated again,
 * or given an account): its cursors start at the end of each account's change log.
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly scope: TenantScope,
    private readonly tenant: TenantContext,
    private readonly accounts: AccountRepository,
    private readonly webhooks: WebhookRepository,
    private readonly cursors: WebhookCursorRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly cipher: CredentialCipher,
    private readonly outboundPolicy: OutboundPolicy,
    private readonly jobs: JobProducer,
  ) {}

  async create(dto: CreateWebhookDto): Promise<WebhookWithSecret> {
    await this.assertTargetAllowed(dto.url);
    const accountIds = dto.accountIds ?? null;
    await this.assertAccountsExist(accountIds);
    const secret = generateSecret();
    const webhook = await this.scope.transaction(async () => {
      const created = await this.webhooks.create({
        url: dto.url,
        events: dto.events,
        accountIds,
        active: dto.active ?? true,
        encryptedSecret: this.cipher.encrypt(secret),
      });
      await this.cursors.fastForward(created.id, accountIds);
      return created;
    });
    return { webhook, secret };
  }

  async list(limit: number, cursor?: string): Promise<Page<Webhook>> {
    return this.webhooks.list(limit, cursor);
  }

  async get(id: string): Promise<Webhook> {
    const webhook = await this.webhooks.findById(id);
    if (!webhook) throw new WebhookNotFoundError(id);
    return webhook;
  }

  async update(id: string, dto: UpdateWebhookDto): Promise<Webhook> {
    if (dto.url !== undefined) await this.assertTargetAllowed(dto.url);
    if (dto.accountIds !== undefined) await this.assertAccountsExist(dto.accountIds);
    const { webhook, reactivated } = await this.scope.transaction(async () => {
      const current = await this.webhooks.findByIdForUpdate(id);
      if (!current) throw new WebhookNotFoundError(id);
      const reactivated = dto.active === true && !current.active;
      const accountIds = dto.accountIds === undefined ? current.accountIds : dto.accountIds;
      const changes: WebhookChanges = {
        ...(dto.url !== undefined ? { url: dto.url } : {}),
        ...(dto.events !== undefined ? { events: dto.events } : {}),
        ...(dto.accountIds !== undefined ? { accountIds } : {}),
        ...(dto.active !== undefined ? { active: dto.active } : {}),
        ...(reactivated ? { disabledReason: null, disabledAt: null } : {}),
      };
      const updated = await this.webhooks.update(id, changes);
      if (!updated) throw new WebhookNotFoundError(id);
      // What changed while it was off is not sent; newly included accounts start from now.
      if (reactivated) await this.cursors.fastForward(id, accountIds);
      else if (updated.active && dto.accountIds !== undefined)
        await this.cursors.fastForward(id, accountIds, current.accountIds ?? []);
      return { webhook: updated, reactivated };
    });
    // Deliveries that were pending when it was disabled go out now, oldest first.
    if (reactivated) await this.requestJobs(await this.deliveries.heads(id));
    return webhook;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.webhooks.delete(id))) throw new WebhookNotFoundError(id);
  }

  async rotateSecret(id: string): Promise<WebhookWithSecret> {
    const secret = generateSecret();
    const webhook = await this.webhooks.update(id, { encryptedSecret: this.cipher.encrypt(secret) });
    if (!webhook) throw new WebhookNotFoundError(id);
    return { webhook, secret };
  }

  async listDeliveries(id: string, limit: number, cursor?: string): Promise<Page<WebhookDelivery>> {
    await this.get(id);
    return this.deliveries.list(id, limit, cursor);
  }

  /** Sends the delivery again, as a new round of attempts, once the ones before it in its account's order are settled. */
  async redeliver(id: string, deliveryId: string): Promise<WebhookDelivery> {
    const webhook = await this.get(id);
    const delivery = await this.deliveries.redeliver(id, deliveryId);
    if (!delivery) throw new WebhookDeliveryNotFoundError(deliveryId);
    if (webhook.active) {
      const head = await this.deliveries.head(id, delivery.accountId);
      if (head) await this.requestJobs([head]);
    }
    return delivery;
  }

  private async assertTargetAllowed(rawUrl: string): Promise<void> {
    const url = new URL(rawUrl);
    if (url.username !== '' || url.password !== '') throw new WebhookUrlInvalidError('it must not carry credentials');
    try {
      await this.outboundPolicy.resolveUrl(url);
    } catch (error: unknown) {
      if (error instanceof OutboundRefusedError)
        throw new WebhookTargetNotAllowedError(error.host, error.port, error.reason);
      this.logger.warn({ err: error, host: url.hostname }, 'A webhook URL did not resolve');
      throw new WebhookUrlInvalidError(`its host ${url.hostname} does not resolve`);
    }
  }

  private async assertAccountsExist(accountIds: readonly string[] | null): Promise<void> {
    for (const accountId of accountIds ?? []) {
      if (!(await this.accounts.findById(accountId)))
        throw new AccountNotFoundError(accountId, `Account ${accountId} not found`);
    }
  }

  /**
   * The delivery jobs follow when background jobs run. One that cannot be queued now (queue Redis
   * away) is queued by the scheduler's reconciliation, so the change is not answered with an error.
   */
  private async requestJobs(heads: readonly WebhookDeliveryHead[]): Promise<void> {
    if (!this.config.features.backgroundJobs) return;
    try {
      for (const head of heads) {
        await this.jobs.enqueueAgain(
          JobName.DeliverWebhook,
          { tenantId: this.tenant.tenantId, webhookId: head.webhookId, accountId: head.accountId, deliveryId: head.id },
          Math.max(0, head.nextAttemptAt.getTime() - Date.now()),
        );
      }
    } catch (error: unknown) {
      this.logger.warn(
        { err: error },
        'Webhook deliveries are pending, but their jobs could not be queued; reconciliation will',
      );
    }
  }
}
