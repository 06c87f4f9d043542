import { DomainError } from '@app/errors';

export class WebhookNotFoundError extends DomainError {
  readonly code = 'webhook_not_found';

  constructor(readonly webhookId: string) {
    super(`Webhook ${webhookId} not found`);
  }
}

export class WebhookDeliveryNotFoundError extends DomainError {
  readonly code = 'webhook_delivery_not_found';

  constructor(readonly deliveryId: string) {
    super(`Delivery ${deliveryId} not found for this webhook`);
  }
}

/**
 * The URL names a host the outbound policy refuses (loopback, private, link-local … in `public`
 * mode), decided before anything connected to it. Like the mail-server refusal, the message says
 * which rule refused it, never what the name resolved to.
 */
export class WebhookTargetNotAllowedError extends DomainError {
  readonly code = 'webhook_target_not_allowed';

  constructor(host: string, port: number, reason: string) {
    super(`Webhooks to ${host} port ${port} are not allowed: ${reason}`);
  }
}

/** The URL carries credentials, or its host does not resolve. */
export class WebhookUrlInvalidError extends DomainError {
  readonly code = 'webhook_url_invalid';

  constructor(reason: string) {
    super(`The webhook URL is not usable: ${reason}`);
  }
}

export type WebhookErrorCode = (
  WebhookNotFoundError | WebhookDeliveryNotFoundError | WebhookTargetNotAllowedError | WebhookUrlInvalidError
)['code'];
