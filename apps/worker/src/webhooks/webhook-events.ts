import { ALL_WEBHOOK_EVENTS, WEBHOOK_EVENT_TYPES } from '@app/database';
import type { ChangeEntry, NewWebhookDelivery, Webhook } from '@app/database';

const EVENT_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);
const SEND_OUTCOMES = ['send.sent', 'send.failed', 'send.bounced'];

/**
 * The deliveries a webhook gets for a batch of changes. `<type>.<op>` names the event; a send's
 * `updated` stays `send.updated` until its attempt reads the record's state (`send.sent`,
 * `send.failed` or `send.bounced`), so it is kept when the webhook takes any of them.
 */
export function deliveriesFor(webhook: Pick<Webhook, 'events'>, changes: readonly ChangeEntry[]): NewWebhookDelivery[] {
  const all = webhook.events.includes(ALL_WEBHOOK_EVENTS);
  const takes = (type: string): boolean => all || webhook.events.includes(type);
  return changes.flatMap((change) => {
    const type = `${change.type}.${change.op}`;
    const wanted = type === 'send.updated' ? SEND_OUTCOMES.some(takes) : EVENT_TYPES.has(type) && takes(type);
    return wanted ? [{ seq: change.seq, type, entityId: change.entityId, changedAt: change.at }] : [];
  });
}
