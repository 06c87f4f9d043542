import { AccountRepository, GroupCommit, SendRecordRepository } from '@app/database';
import type { IdempotentSendRecord, MailAccount, SendRecordCreation } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import type { SendEmailPayload } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

interface DelayedSendJob {
  payload: SendEmailPayload;
  delayMs: number;
}

/**
 * The round trips of a send request without attachments — the account lookup and the idempotent
 * insert of the send record in PostgreSQL, then its job in Redis — grouped across the requests in
 * flight, per tenant (GroupCommit). Each request still waits for its own write, and the insert
 * keeps every rule of SendRecordRepository.createIdempotent; only the round trips are
 * shared. A batch that fails is run again request by request, so one request's bad row fails
 * only that request.
 */
@Injectable()
export class SendRequestBatches {
  private readonly accountLookups = new GroupCommit<string, MailAccount | null>(
    (tenantId, ids) => this.findAccounts(tenantId, ids),
    {
      writeOne: (tenantId, id) => this.tenant.run(tenantId, () => this.accounts.findById(id)),
    },
  );
  private readonly creations = new GroupCommit<IdempotentSendRecord, SendRecordCreation>(
    (tenantId, requests) => this.tenant.run(tenantId, () => this.sendRecords.createManyIdempotent(requests)),
    {
      writeOne: (tenantId, request) =>
        this.tenant.run(tenantId, () =>
          this.sendRecords.createIdempotent(request.values, request.idempotencyKey, request.requestFingerprint),
        ),
    },
  );

  private readonly sendJobs = new GroupCommit<DelayedSendJob, void>(
    async (_tenantId, jobs) => {
      await this.jobs.enqueueMany(
        JobName.SendEmail,
        jobs.map((job) => job.payload),
        jobs.map((job) => job.delayMs),
      );
      return jobs.map(() => undefined);
    },
    {
      writeOne: async (_tenantId, job) => void (await this.jobs.enqueue(JobName.SendEmail, job.payload, job.delayMs)),
    },
  );

  constructor(
    private readonly tenant: TenantContext,
    private readonly accounts: AccountRepository,
    private readonly sendRecords: SendRecordRepository,
    private readonly jobs: JobProducer,
  ) {}

  /** The current tenant's account, or null when it has none with this id. */
  account(accountId: string): Promise<MailAccount | null> {
    return this.accountLookups.submit(this.tenant.tenantId, accountId);
  }

  /** SendRecordRepository.createIdempotent, for the current tenant. */
  createIdempotent(request: IdempotentSendRecord): Promise<SendRecordCreation> {
    return this.creations.submit(this.tenant.tenantId, request);
  }

  /** Enqueues the send-email job of one of the current tenant's records, to run `delayMs` from now. */
  enqueueSend(sendRecordId: string, delayMs = 0): Promise<void> {
    const tenantId = this.tenant.tenantId;
    return this.sendJobs.submit(tenantId, { payload: { tenantId, sendRecordId }, delayMs });
  }

  private async findAccounts(tenantId: string, ids: string[]): Promise<(MailAccount | null)[]> {
    const found = await this.tenant.run(tenantId, () => this.accounts.findManyById([...new Set(ids)]));
    const byId = new Map(found.map((account) => [account.id, account]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
