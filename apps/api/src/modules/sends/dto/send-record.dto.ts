import { SEND_STATES } from '@app/database';
import type { SendRecord, SendState } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

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

  static from(record: SendRecord): SendRecordDto {
    return {
      id: record.id,
      state: record.state,
      attempts: record.attempts,
      messageId: record.messageId,
      lastResponse: record.lastResponse,
      createdAt: record.createdAt.toISOString(),
      sentAt: record.sentAt?.toISOString() ?? null,
      sendAt: record.sendAt?.toISOString() ?? null,
      cancelledAt: record.cancelledAt?.toISOString() ?? null,
    };
  }
}
