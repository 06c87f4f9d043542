import { SEND_STATES } from '@app/database';
import type { SendDeliveryReport, SendRecord, SendState } from '@app/database';
import { BOUNCE_CATEGORIES } from '@app/mail';
import type { BounceCategory } from '@app/mail';
import { ApiProperty } from '@nestjs/swagger';

/** What a bounce or delay notice synced into the sender's mailbox says about one recipient. */
export class DeliveryReportDto {
  @ApiProperty({ example: 'nobody@example.com' }) recipient!: string;
  @ApiProperty({ nullable: true, type: String, example: '5.1.1', description: 'RFC 3463 enhanced status code' })
  status!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown',
    description: "The recipient's server's reply, as the notice quotes it",
  })
  diagnostic!: string | null;
  @ApiProperty({ enum: BOUNCE_CATEGORIES, description: 'From the status code (RFC 3463), else from the reply' })
  category!: BounceCategory;
  @ApiProperty({ format: 'date-time', description: 'When the notice was written' }) at!: string;

  static from(report: SendDeliveryReport): DeliveryReportDto {
    return {
      recipient: report.recipient,
      status: report.status,
      diagnostic: report.diagnostic,
      category: report.category as BounceCategory,
      at: report.reportedAt.toISOString(),
    };
  }
}

/** SPEC §8 send record. */
export class SendRecordDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: SEND_STATES }) state!: SendState;
  @ApiProperty({ description: 'SMTP attempts made so far' }) attempts!: number;
  @ApiProperty({ example: '<0f8c…@example.com>' }) messageId!: string;
  @ApiProperty({ nullable: true, type: String, description: "The server's last reply, or why the send failed" })
  lastResponse!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) sentAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'While queued, the send waits until then (the requested time, or the end of the undo window) and can be cancelled; null: sent at once',
  })
  sendAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'When the send was cancelled' })
  cancelledAt!: string | null;

  @ApiProperty({
    type: [DeliveryReportDto],
    description: 'Recipients whose server gave up on the message after accepting it (the send is then `bounced`)',
  })
  bounces!: DeliveryReportDto[];
  @ApiProperty({
    type: [DeliveryReportDto],
    description: 'Recipients whose server is still retrying, as a delay notice said; no failure (yet)',
  })
  delays!: DeliveryReportDto[];

  static from(record: SendRecord, reports: readonly SendDeliveryReport[] = []): SendRecordDto {
    return {
      id: record.id,
      state: record.state,
      attempts: record.attempts,
      messageId: record.messageId,
      lastResponse: record.lastResponse,
      createdAt: record.createdAt.toISOString(),
      sentAt: record.sentAt?.toISOString() ?? null,
      bounces: reports.filter((report) => report.action === 'failed').map((report) => DeliveryReportDto.from(report)),
      delays: reports.filter((report) => report.action === 'delayed').map((report) => DeliveryReportDto.from(report)),
      sendAt: record.sendAt?.toISOString() ?? null,
      cancelledAt: record.cancelledAt?.toISOString() ?? null,
    };
  }
}
