import { GroupCommit, OutboundMessageRepository } from '@app/database';
import type { MailAccount, OutboundMessage } from '@app/database';
import { AccountMailSettings } from '@app/mail';
import type { AccountConnection } from '@app/mail';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

export interface ClaimedSend {
  record: OutboundMessage;
  /** Null when the account is gone; the error when its credentials could not be read. */
  connection: AccountConnection | Error | null;
}

export interface SmtpAcceptanceRecord {
  id: string;
  response: string;
  sentCopyFiled: boolean;
}

/**
 * The two writes every send makes — claiming the attempt before SMTP and recording the server's
 * acceptance after it — grouped across the jobs a worker runs at once, per tenant. Each job
 * still waits for its own write to commit before it goes on, so the state machine's guarantees
 * are those of one write per job; only the round trips are shared.
 */
@Injectable()
export class SendRecordBatches {
  private readonly claims = new GroupCommit<string, ClaimedSend | null>((tenantId, ids) => this.claimAll(tenantId, ids));
  private readonly acceptances = new GroupCommit<SmtpAcceptanceRecord, void>((tenantId, items) => this.acceptAll(tenantId, items));

  constructor(
    private readonly tenant: TenantContext,
    private readonly outbound: OutboundMessageRepository,
    private readonly mailSettings: AccountMailSettings,
  ) {}

  /** Claims an attempt of the current tenant's record and loads its account; null when there is nothing to claim. */
  claim(outboundMessageId: string): Promise<ClaimedSend | null> {
    return this.claims.submit(this.tenant.tenantId, outboundMessageId);
  }

  accepted(acceptance: SmtpAcceptanceRecord): Promise<void> {
    return this.acceptances.submit(this.tenant.tenantId, acceptance);
  }

  private async claimAll(tenantId: string, ids: string[]): Promise<(ClaimedSend | null)[]> {
    // One statement, committed on its own, claims the records and reads their accounts.
    const claimed = await this.tenant.run(tenantId, () => this.outbound.claimAttempts(ids));
    const connections = new Map<string, AccountConnection | Error | null>();
    // The same id twice in one batch (a stalled job run again beside itself) is claimed once.
    const handedOut = new Set<string>();
    return ids.map((id) => {
      const attempt = claimed.get(id);
      if (!attempt || handedOut.has(id)) return null;
      handedOut.add(id);
      const { record, account } = attempt;
      if (!connections.has(record.accountId)) connections.set(record.accountId, account && this.connectionOf(account));
      return { record, connection: connections.get(record.accountId) ?? null };
    });
  }

  /** One account's unreadable credentials fail its own sends, not the others of the batch. */
  private connectionOf(account: MailAccount): AccountConnection | Error {
    try {
      return this.mailSettings.connectionOf(account);
    } catch (error: unknown) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async acceptAll(tenantId: string, items: SmtpAcceptanceRecord[]): Promise<void[]> {
    await this.tenant.run(tenantId, () => this.outbound.markAccepted(items));
    return items.map(() => undefined);
  }
}
