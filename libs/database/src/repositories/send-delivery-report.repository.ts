import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { SendDeliveryReport } from '../entities/send-delivery-report.entity.js';
import type { DeliveryReportAction } from '../entities/send-delivery-report.entity.js';
import type { SendContent } from '../entities/send-record.entity.js';

export interface ReportedRecipient {
  recipient: string;
  action: DeliveryReportAction;
  status: string | null;
  diagnostic: string | null;
  category: string;
}

/** A bounce or delay notice found in an account's mailbox, about a message that account sent. */
export interface ReportedDelivery {
  /** Message-ID of the message the notice is about, angle brackets included. */
  originalMessageId: string;
  /**
   * The notice named its recipients only in prose: an address counts only when the send was
   * addressed to it (a notice's text names other addresses too).
   */
  onlySendRecipients: boolean;
  recipients: ReportedRecipient[];
  reportedAt: Date;
}

function recipientsOf(content: SendContent): Set<string> {
  return new Set([...content.to, ...content.cc, ...content.bcc].map((entry) => entry.address.toLowerCase()));
}

/**
 * Delivery reports of the current tenant's sends. Recording joins the caller's transaction
 * (TenantScope), so a synced notice and what it says about a send commit together.
 */
@Injectable()
export class SendDeliveryReportRepository {
  constructor(private readonly scope: TenantScope) {}

  /**
   * Records what the notices say about the sends of `accountId` they name by Message-ID, once per
   * (send, recipient, action) however often a notice is synced, and turns a `sent` record
   * `bounced` when a recipient failed. A notice about a Message-ID the account never sent (another
   * account's, another tenant's, made up) changes nothing. Answers the ids of the sends it bounced.
   */
  async record(accountId: string, reports: readonly ReportedDelivery[]): Promise<string[]> {
    if (reports.length === 0) return [];
    return this.scope.transaction(async (manager, tenantId) => {
      const sends: { id: string; message_id: string; content: SendContent }[] = await manager.query(
        `SELECT "id", "message_id", "content" FROM "send_records"
          WHERE "tenant_id" = $1 AND "account_id" = $2 AND "message_id" = ANY($3::text[])`,
        [tenantId, accountId, [...new Set(reports.map((report) => report.originalMessageId))]],
      );
      const sendsByMessageId = new Map(sends.map((send) => [send.message_id, send]));
      const rows: Omit<SendDeliveryReport, 'id' | 'createdAt' | 'sendRecord'>[] = [];
      for (const report of reports) {
        const send = sendsByMessageId.get(report.originalMessageId);
        if (!send) continue;
        const addressed = recipientsOf(send.content);
        for (const recipient of report.recipients) {
          if (report.onlySendRecipients && !addressed.has(recipient.recipient.toLowerCase())) continue;
          rows.push({
            tenantId,
            accountId,
            sendRecordId: send.id,
            ...recipient,
            recipient: recipient.recipient.toLowerCase(),
            reportedAt: report.reportedAt,
          });
        }
      }
      if (rows.length === 0) return [];
      await manager.createQueryBuilder().insert().into(SendDeliveryReport).values(rows).orIgnore().execute();
      const failed = [...new Set(rows.filter((row) => row.action === 'failed').map((row) => row.sendRecordId))];
      if (failed.length === 0) return [];
      const [bounced]: [{ id: string }[], number] = await manager.query(
        `UPDATE "send_records" SET "state" = 'bounced', "updated_at" = now()
          WHERE "tenant_id" = $1 AND "id" = ANY($2::uuid[]) AND "state" = 'sent'
          RETURNING "id"`,
        [tenantId, failed],
      );
      return bounced.map((row) => row.id);
    });
  }

  /** A send's reports, oldest first. */
  async forSend(sendRecordId: string): Promise<SendDeliveryReport[]> {
    return this.scope.transaction((manager, tenantId) =>
      manager.find(SendDeliveryReport, {
        where: { tenantId, sendRecordId },
        order: { reportedAt: 'ASC', recipient: 'ASC' },
      }),
    );
  }
}
