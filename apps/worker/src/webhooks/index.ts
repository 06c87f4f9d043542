import type { Provider } from '@nestjs/common';

import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

export { retryDelayMs, WebhookDeliveryService } from './webhook-delivery.service.js';
export type { WebhookDeliveryOutcome } from './webhook-delivery.service.js';
export { WebhookDispatcher } from './webhook-dispatcher.js';
export { deliveriesFor } from './webhook-events.js';
export { signatureHeader, SIGNATURE_TOLERANCE_SECONDS, verifySignature } from './webhook-signature.js';

/** The dispatcher, and what the webhook processor needs besides the libs' modules. */
export const WEBHOOK_PROVIDERS: Provider[] = [WebhookDeliveryService, WebhookDispatcher];
