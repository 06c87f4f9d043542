import { OutboundMessageRepository } from '@app/database';
import type { OutboundMessage } from '@app/database';
import { AccountMailSettings } from '@app/mail';
import type { AccountConnection } from '@app/mail';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { GroupCommit } from './group-commit.js';

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
    return this.tenant.run(tenantId, async () => {
      // Two statements of one round trip each: the claim commits on its own, and the accounts are
      // only read, so nothing needs them in one transaction.
      const records = await this.outbound.claimAttempts(ids);
      const connections = await this.connectionsOf([...records.values()]);
      // The same id twice in one batch (a stalled job run again beside itself) is claimed once.
      const handedOut = new Set<string>();
      return ids.map((id) => {
        const record = records.get(id);
        if (!record || handedOut.has(id)) return null;
        handedOut.add(id);
        return { record, connection: connections.get(record.accountId) ?? null };
      });
    });
  }

  /** One account's unreadable credentials fail its own sends, not the others of the batch. */
  private async connectionsOf(records: OutboundMessage[]): Promise<Map<string, AccountConnection | Error>> {
    if (records.length === 0) return new Map();
    const accountIds = [...new Set(records.map((record) => record.accountId))];
    try {
      return await this.mailSettings.forAccounts(accountIds);
    } catch {
      const connections = new Map<string, AccountConnection | Error>();
      for (const accountId of accountIds) {
        connections.set(
          accountId,
          await this.mailSettings.forAccount(accountId).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
        );
      }
      return connections;
    }
  }

  private async acceptAll(tenantId: string, items: SmtpAcceptanceRecord[]): Promise<void[]> {
    await this.tenant.run(tenantId, () => this.outbound.markAccepted(items));
    return items.map(() => undefined);
  }
}
