import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { Webhook } from '../entities/webhook.entity.js';
import { decodeCursor, pageByCreation } from './keyset-cursor.js';
import type { Page } from './keyset-cursor.js';

export type NewWebhook = Pick<Webhook, 'url' | 'events' | 'accountIds' | 'active' | 'encryptedSecret'>;

export type WebhookChanges = Partial<
  Pick<Webhook, 'url' | 'events' | 'accountIds' | 'active' | 'encryptedSecret' | 'disabledReason' | 'disabledAt'>
>;

/** The current tenant's webhook endpoints. */
@Injectable()
export class WebhookRepository {
  constructor(private readonly scope: TenantScope) {}

  async create(values: NewWebhook): Promise<Webhook> {
    return this.scope.transaction(async (manager, tenantId) => {
      const saved = await manager.save(
        Webhook,
        manager.create(Webhook, { ...values, tenantId, disabledReason: null, disabledAt: null }),
      );
      return manager.findOneByOrFail(Webhook, { id: saved.id, tenantId });
    });
  }

  async findById(id: string): Promise<Webhook | null> {
    return this.scope.transaction((manager, tenantId) => manager.findOneBy(Webhook, { id, tenantId }));
  }

  /** Locks the webhook until the surrounding transaction ends, so concurrent edits of its filter serialise. */
  async findByIdForUpdate(id: string): Promise<Webhook | null> {
    return this.scope.transaction((manager, tenantId) =>
      manager
        .getRepository(Webhook)
        .createQueryBuilder('webhook')
        .setLock('pessimistic_write')
        .where('webhook.id = :id AND webhook.tenantId = :tenantId', { id, tenantId })
        .getOne(),
    );
  }

  /** The tenant's active webhooks that take changes of `accountId`. */
  async activeForAccount(accountId: string): Promise<Webhook[]> {
    return this.scope.transaction((manager, tenantId) =>
      manager
        .getRepository(Webhook)
        .createQueryBuilder('webhook')
        .where('webhook.tenantId = :tenantId AND webhook.active', { tenantId })
        .andWhere('(webhook.accountIds IS NULL OR :accountId = ANY(webhook.accountIds))', { accountId })
        .getMany(),
    );
  }

  async list(limit: number, cursor?: string): Promise<Page<Webhook>> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.scope.transaction(async (manager, tenantId) => {
      const query = manager
        .getRepository(Webhook)
        .createQueryBuilder('webhook')
        .where('webhook.tenantId = :tenantId', { tenantId });
      return pageByCreation(query, 'webhook', limit, after);
    });
  }

  /** The updated webhook, or null when there is none. */
  async update(id: string, changes: WebhookChanges): Promise<Webhook | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const result = await manager.update(Webhook, { id, tenantId }, changes);
      if (!result.affected) return null;
      return manager.findOneBy(Webhook, { id, tenantId });
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.scope.transaction(async (manager, tenantId) => {
      const result = await manager.delete(Webhook, { id, tenantId });
      return Boolean(result.affected);
    });
  }
}
