import { AccountRepository, GroupCommit, OutboundMessageRepository } from '@app/database';
import type { IdempotentOutbound, MailAccount, OutboundCreation } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

/**
 * The two statements of a send request without attachments — the account lookup and the
 * idempotent insert of the send record — grouped across the requests in flight, per tenant
 * (GroupCommit). Each request still waits for its own statement, and the insert keeps every rule
 * of OutboundMessageRepository.createIdempotent; only the round trips are shared. A batch that
 * fails is run again request by request, so one request's bad row fails only that request.
 */
@Injectable()
export class SendRequestBatches {
  private readonly accountLookups = new GroupCommit<string, MailAccount | null>((tenantId, ids) => this.findAccounts(tenantId, ids), {
    writeOne: (tenantId, id) => this.tenant.run(tenantId, () => this.accounts.findById(id)),
  });
  private readonly creations = new GroupCommit<IdempotentOutbound, OutboundCreation>(
    (tenantId, requests) => this.tenant.run(tenantId, () => this.outbound.createManyIdempotent(requests)),
    {
      writeOne: (tenantId, request) =>
        this.tenant.run(tenantId, () => this.outbound.createIdempotent(request.values, request.idempotencyKey, request.requestFingerprint)),
    },
  );

  constructor(
    private readonly tenant: TenantContext,
    private readonly accounts: AccountRepository,
    private readonly outbound: OutboundMessageRepository,
  ) {}

  /** The current tenant's account, or null when it has none with this id. */
  account(accountId: string): Promise<MailAccount | null> {
    return this.accountLookups.submit(this.tenant.tenantId, accountId);
  }

  /** OutboundMessageRepository.createIdempotent, for the current tenant. */
  createIdempotent(request: IdempotentOutbound): Promise<OutboundCreation> {
    return this.creations.submit(this.tenant.tenantId, request);
  }

  private async findAccounts(tenantId: string, ids: string[]): Promise<(MailAccount | null)[]> {
    const found = await this.tenant.run(tenantId, () => this.accounts.findManyById([...new Set(ids)]));
    const byId = new Map(found.map((account) => [account.id, account]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
