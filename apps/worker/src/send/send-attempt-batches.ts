import { AppConfig } from '@app/config';
import { GroupCommit, SendRecordRepository } from '@app/database';
import type { MailAccount, SendRecord, SmtpAcceptanceRecord } from '@app/database';
import { AccountMailSettings } from '@app/mail';
import type { AccountConnection } from '@app/mail';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { sendClaimTiming } from './send-claim.js';
import type { SendClaimTiming } from './send-claim.js';

export interface ClaimedSend {
  record: SendRecord;
  /** Null when the account is gone; the error when its credentials could not be read. */
  connection: AccountConnection | Error | null;
  /** Local clock (Date.now()) after which this attempt must not open its SMTP transaction any more: see sendClaimTiming. */
  startSmtpBy: number;
}

/** A write of the send state machine: claiming an attempt, or recording the server's acceptance. */
type RecordWrite = { claim: string } | { accepted: SmtpAcceptanceRecord };

type ClaimedRecord = Omit<ClaimedSend, 'startSmtpBy'>;

/**
 * The two writes every send makes — claiming the attempt before SMTP and recording the server's
 * acceptance after it — grouped across the jobs a worker runs at once, per tenant, each batch in
 * one statement. Each job still waits for its own write to commit before it goes on, so the state
 * machine's guarantees are those of one write per job; only the round trips are shared. A batch
 * that fails is written again item by item, so one record's write never fails another's.
 *
 * Between the server's 250 and the commit that records it, a crash leaves a message the next
 * attempt sends again; an acceptance waits at most for the one batch already in flight. A lane of
 * its own for acceptances was tried: a statement more per batch, PostgreSQL at 0.94 CPU-ms per
 * message in bench:send against 0.70-0.84 with one lane, to save that one round trip.
 */
@Injectable()
export class SendAttemptBatches {
  private readonly writes = new GroupCommit<RecordWrite, ClaimedRecord | null>(
    (tenantId, items) => this.writeAll(tenantId, items),
    {
      writeOne: async (tenantId, item) => (await this.writeAll(tenantId, [item]))[0] ?? null,
    },
  );
  private readonly timing: SendClaimTiming;

  constructor(
    config: AppConfig,
    private readonly tenant: TenantContext,
    private readonly sendRecords: SendRecordRepository,
    private readonly mailSettings: AccountMailSettings,
  ) {
    this.timing = sendClaimTiming(config);
  }

  /** Claims an attempt of the current tenant's record and loads its account; null when there is nothing to claim. */
  async claim(sendRecordId: string): Promise<ClaimedSend | null> {
    // Taken before the claim is written, so the database's lease ends after this deadline plus the SMTP budget.
    const requestedAt = Date.now();
    const claimed = await this.writes.submit(this.tenant.tenantId, { claim: sendRecordId });
    return claimed && { ...claimed, startSmtpBy: requestedAt + this.timing.startSmtpWithinMs };
  }

  async accepted(acceptance: SmtpAcceptanceRecord): Promise<void> {
    await this.writes.submit(this.tenant.tenantId, { accepted: acceptance });
  }

  /** Answers each item in order: a claim with what it claimed (or null), an acceptance with null. */
  private async writeAll(tenantId: string, items: RecordWrite[]): Promise<(ClaimedRecord | null)[]> {
    const ids = items.flatMap((item) => ('claim' in item ? [item.claim] : []));
    const acceptances = items.flatMap((item) => ('accepted' in item ? [item.accepted] : []));
    // One statement, committed on its own, records the acceptances, claims the records and reads their accounts.
    const claimed = await this.tenant.run(tenantId, () =>
      this.sendRecords.claimAttempts(ids, this.timing.leaseMs, acceptances),
    );
    const connections = new Map<string, AccountConnection | Error | null>();
    for (const { record, account } of claimed.values()) {
      if (!connections.has(record.accountId))
        connections.set(record.accountId, account && (await this.connectionOf(tenantId, account)));
    }
    // The same id twice in one batch (a stalled job run again beside itself) is claimed once.
    const handedOut = new Set<string>();
    return items.map((item) => {
      if (!('claim' in item)) return null;
      const attempt = claimed.get(item.claim);
      if (!attempt || handedOut.has(item.claim)) return null;
      handedOut.add(item.claim);
      const { record } = attempt;
      return { record, connection: connections.get(record.accountId) ?? null };
    });
  }

  /**
   * One account's unreadable credentials (or an OAuth2 token that could not be refreshed) fail its
   * own sends, not the others of the batch.
   */
  private async connectionOf(tenantId: string, account: MailAccount): Promise<AccountConnection | Error> {
    try {
      return await this.tenant.run(tenantId, () => this.mailSettings.connectionOf(account));
    } catch (error: unknown) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}
