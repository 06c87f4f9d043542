import type { Provider } from '@nestjs/common';

import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookSender } from './webhook-sender.js';

export { eventIdOf, retryDelayMs, WebhookDeliveryService } from './webhook-delivery.service.js';
export type { WebhookDeliveryOutcome } from './webhook-delivery.service.js';
export { hostOf, portOf, WebhookSender } from './webhook-sender.js';
export { signatureHeader, SIGNATURE_TOLERANCE_SECONDS, verifySignature } from './webhook-signature.js';

/** What the webhook processor needs besides the libs' modules. */
export const WEBHOOK_PROVIDERS: Provider[] = [WebhookSender, WebhookDeliveryService];
