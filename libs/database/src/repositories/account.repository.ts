import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';

import { DuplicateAccountError } from '../errors.js';
import { MailAccount } from '../entities/mail-account.entity.js';
import { decodeCursor, pageByCreation } from './keyset-cursor.js';
import type { Page } from './keyset-cursor.js';
import { entityFromRow } from './entity-from-row.js';
import { TenantRepository } from './tenant.repository.js';

/** The columns that hold how an account logs in; on create, those not given take their password-account defaults. */
export type AuthColumns =
  | 'authType'
  | 'encryptedPassword'
  | 'oauthProvider'
  | 'encryptedAccessToken'
  | 'encryptedRefreshToken'
  | 'tokenExpiresAt'
  | 'authState'
  | 'authError';

export type NewMailAccount = Omit<
  MailAccount,
  | 'id'
  | 'tenantId'
  | 'createdAt'
  | 'updatedAt'
  | 'syncState'
  | 'lastSyncedAt'
  | 'lastError'
  | 'lastErrorAt'
  | 'failureCount'
  | 'nextSyncAfter'
  | 'active'
  | AuthColumns
> &
  Partial<Pick<MailAccount, AuthColumns>>;

export type MailAccountChanges = Partial<Omit<MailAccount, 'id' | 'tenantId' | 'createdAt' | 'updatedAt'>>;

const UNIQUE_VIOLATION = '23505';

/** Accounts of the current tenant. Every query filters by tenant and runs under row-level security. */
@Injectable()
export class AccountRepository {
  /** Every column the entity selects by default, plus the encrypted password for callers that connect. */
  private readonly columns: { public: string; withSecret: string };

  constructor(
    private readonly scope: TenantScope,
    private readonly tenants: TenantRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    const all = dataSource.getMetadata(MailAccount).columns;
    const list = (columns: typeof all): string => columns.map((column) => `"${column.databaseName}"`).join(', ');
    this.columns = { public: list(all.filter((column) => column.isSelect)), withSecret: list(all) };
  }

  async list(limit: number, cursor?: string): Promise<Page<MailAccount>> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.scope.transaction(async (manager, tenantId) => {
      const query = manager
        .getRepository(MailAccount)
        .createQueryBuilder('account')
        .where('account.tenantId = :tenantId', { tenantId });
      return pageByCreation(query, 'account', limit, after);
    });
  }

  /** One round trip: every send request and sync job looks its account up first. */
  async findById(id: string): Promise<MailAccount | null> {
    return (await this.selectByIds(this.columns.public, [id]))[0] ?? null;
  }

  /** Like findById, for several accounts in one query; missing ones are absent. */
  async findManyById(ids: readonly string[]): Promise<MailAccount[]> {
    return this.selectByIds(this.columns.public, ids);
  }

  /** Addresses are unique per tenant as stored (uq_mail_accounts_tenant_email). */
  async findIdByEmail(email: string): Promise<string | null> {
    const rows = await this.scope.query<{ id: string }>((tenantId) => ({
      sql: `SELECT "id" FROM "mail_accounts" WHERE "tenant_id" = :tenantId AND "email" = :email`,
      parameters: { tenantId, email },
    }));
    return rows[0]?.id ?? null;
  }

  /** Includes the encrypted password; only for code that is about to connect or re-encrypt. */
  async findByIdWithSecret(id: string): Promise<MailAccount | null> {
    return (await this.selectByIds(this.columns.withSecret, [id]))[0] ?? null;
  }

  async listIdsWithSecret(): Promise<
    Pick<MailAccount, 'id' | 'encryptedPassword' | 'encryptedAccessToken' | 'encryptedRefreshToken'>[]
  > {
    return this.scope.transaction((manager, tenantId) =>
      manager
        .getRepository(MailAccount)
        .createQueryBuilder('account')
        .select([
          'account.id',
          'account.encryptedPassword',
          'account.encryptedAccessToken',
          'account.encryptedRefreshToken',
        ])
        .where('account.tenantId = :tenantId', { tenantId })
        .getMany(),
    );
  }

  /** Active accounts whose sync backoff has expired (or that never failed). */
  async listIdsDueForSync(): Promise<string[]> {
    const rows = await this.scope.query<{ id: string }>((tenantId) => ({
      sql: `SELECT "id" FROM "mail_accounts" WHERE "tenant_id" = :tenantId AND "active" AND "auth_state" = 'valid' AND ("next_sync_after" IS NULL OR "next_sync_after" <= now())`,
      parameters: { tenantId },
    }));
    return rows.map((row) => row.id);
  }

  /** Shows a sync as queued on accounts at rest; one already running keeps its state. */
  async markSyncQueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.scope.query((tenantId) => ({
      sql: `UPDATE "mail_accounts" SET "sync_state" = 'queued' WHERE "tenant_id" = :tenantId AND "id" = ANY(CAST(:ids AS uuid[])) AND "sync_state" IN ('idle', 'failed')`,
      parameters: { ids, tenantId },
    }));
  }

  async create(values: NewMailAccount): Promise<MailAccount> {
    return this.scope.transaction(async (manager, tenantId) => {
      await this.tenants.register(tenantId);
      try {
        const inserted = await manager.save(MailAccount, manager.create(MailAccount, { ...values, tenantId }));
        return await this.reload(manager, inserted.id, tenantId);
      } catch (error: unknown) {
        throw translateUniqueViolation(error, values.email);
      }
    });
  }

  /** Returns the updated account, or null when it does not exist for this tenant. */
  async update(id: string, changes: MailAccountChanges): Promise<MailAccount | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      try {
        const result = await manager.update(MailAccount, { id, tenantId }, changes);
        if (!result.affected) return null;
      } catch (error: unknown) {
        throw translateUniqueViolation(error, changes.email ?? '');
      }
      return this.reload(manager, id, tenantId);
    });
  }

  /**
   * Runs `work` holding the account row's lock (SELECT … FOR UPDATE) with its secrets loaded;
   * `save` writes in the same transaction. Callers of the same account queue on the lock, across
   * processes and replicas, and each reads the row as the previous holder committed it. Resolves
   * with null when the account does not exist for this tenant.
   */
  async withLockedSecrets<T>(
    id: string,
    work: (account: MailAccount, save: (changes: MailAccountChanges) => Promise<void>) => Promise<T>,
  ): Promise<T | null> {
    return this.scope.transaction(async (manager, tenantId) => {
      const rows = await manager.query<Record<string, unknown>[]>(
        `SELECT ${this.columns.withSecret} FROM "mail_accounts" WHERE "id" = $1 AND "tenant_id" = $2 FOR UPDATE`,
        [id, tenantId],
      );
      const row = rows[0];
      if (!row) return null;
      const account = entityFromRow(manager, MailAccount, row);
      return work(account, async (changes) => {
        await manager.update(MailAccount, { id, tenantId }, changes);
      });
    });
  }

  /** Deletes the account; folders, messages, attachments, drafts, sends and sync runs go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    return this.scope.transaction(async (manager, tenantId) => {
      const result = await manager.delete(MailAccount, { id, tenantId });
      return Boolean(result.affected);
    });
  }

  private async selectByIds(columns: string, ids: readonly string[]): Promise<MailAccount[]> {
    const rows = await this.scope.query<Record<string, unknown>>((tenantId) => ({
      sql: `SELECT ${columns} FROM "mail_accounts" WHERE "id" = ANY(CAST(:ids AS uuid[])) AND "tenant_id" = :tenantId`,
      parameters: { ids, tenantId },
    }));
    return rows.map((row) => entityFromRow(this.dataSource.manager, MailAccount, row));
  }

  private async reload(manager: EntityManager, id: string, tenantId: string): Promise<MailAccount> {
    return manager.findOneByOrFail(MailAccount, { id, tenantId });
  }
}

function translateUniqueViolation(error: unknown, email: string): unknown {
  const code =
    typeof error === 'object' && error !== null && 'driverError' in error
      ? (error.driverError as { code?: string }).code
      : undefined;
  return code === UNIQUE_VIOLATION ? new DuplicateAccountError(email) : error;
}
