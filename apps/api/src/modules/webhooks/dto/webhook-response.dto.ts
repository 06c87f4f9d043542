import { WEBHOOK_DELIVERY_STATUSES, webhookEventId } from '@app/database';
import type { Webhook, WebhookDelivery, WebhookDeliveryStatus } from '@app/database';
import { ApiProperty } from '@nestjs/swagger';

/** A webhook as clients see it: never its secret after the answer that generated it. */
export class WebhookDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ type: [String] }) events!: string[];
  @ApiProperty({ type: [String], nullable: true, description: 'null: every account' }) accountIds!: string[] | null;
  @ApiProperty() active!: boolean;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why deliveries disabled the webhook (its retry window ran out)',
  })
  disabledReason!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) disabledAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static from(webhook: Webhook): WebhookDto {
    return {
      id: webhook.id,
      tenantId: webhook.tenantId,
      url: webhook.url,
      events: webhook.events,
      accountIds: webhook.accountIds,
      active: webhook.active,
      disabledReason: webhook.disabledReason,
      disabledAt: webhook.disabledAt?.toISOString() ?? null,
      createdAt: webhook.createdAt.toISOString(),
      updatedAt: webhook.updatedAt.toISOString(),
    };
  }
}

/** The answer that generates a secret: the only one that shows it. */
export class WebhookWithSecretDto extends WebhookDto {
  @ApiProperty({
    example: 'whsec_Jd2p…',
    description:
      'The signing secret, shown only in this answer: keep it; deliveries are signed with HMAC-SHA256 keyed with this whole string',
  })
  secret!: string;

  static withSecret(webhook: Webhook, secret: string): WebhookWithSecretDto {
    return { ...WebhookDto.from(webhook), secret };
  }
}

export class WebhookPageDto {
  @ApiProperty({ type: [WebhookDto] }) items!: WebhookDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) webhookId!: string;
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty({
    description: 'The event id (also the Webhook-Id header), the same for every attempt',
    example: 'c0ffee…:42',
  })
  eventId!: string;
  @ApiProperty({ example: 'message.created' }) type!: string;
  @ApiProperty({ format: 'uuid' }) entityId!: string;
  @ApiProperty({ enum: WEBHOOK_DELIVERY_STATUSES }) status!: WebhookDeliveryStatus;
  @ApiProperty({ description: 'Attempts in the current round (a redelivery starts a new one)' }) attempts!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'The HTTP status of the last attempt' })
  responseStatus!: number | null;
  @ApiProperty({ nullable: true, type: Number }) durationMs!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the last attempt failed, or why it was skipped' })
  error!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'When a pending delivery is due' })
  nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) firstAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) deliveredAt!: string | null;
  @ApiProperty({ format: 'date-time', description: 'When the change happened' }) changedAt!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;

  static from(delivery: WebhookDelivery): WebhookDeliveryDto {
    return {
      id: delivery.id,
      webhookId: delivery.webhookId,
      accountId: delivery.accountId,
      eventId: webhookEventId(delivery),
      type: delivery.type,
      entityId: delivery.entityId,
      status: delivery.status,
      attempts: delivery.attempts,
      responseStatus: delivery.responseStatus,
      durationMs: delivery.durationMs,
      error: delivery.error,
      nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
      firstAttemptAt: delivery.firstAttemptAt?.toISOString() ?? null,
      lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
      deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
      changedAt: delivery.changedAt.toISOString(),
      createdAt: delivery.createdAt.toISOString(),
    };
  }
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto] }) items!: WebhookDeliveryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
