import type { ChangeEntry } from '@app/database';

import { deliveriesFor } from './webhook-events.js';

const at = new Date('2030-01-01T00:00:00Z');
const change = (seq: number, type: ChangeEntry['type'], op: ChangeEntry['op']): ChangeEntry => ({
  seq,
  type,
  op,
  entityId: `00000000-0000-4000-8000-00000000000${seq}`,
  at,
});

const CHANGES = [
  change(1, 'message', 'created'),
  change(2, 'send', 'updated'),
  change(3, 'draft', 'deleted'),
  change(4, 'sync', 'completed'),
  change(5, 'account', 'error'),
  change(6, 'send', 'created'),
  change(7, 'account', 'reauth_required'),
];

describe('deliveriesFor', () => {
  it('takes every change named by `*`, in order, a send update as send.updated', () => {
    expect(deliveriesFor({ events: ['*'] }, CHANGES).map((delivery) => [delivery.seq, delivery.type])).toEqual([
      [1, 'message.created'],
      [2, 'send.updated'],
      [3, 'draft.deleted'],
      [4, 'sync.completed'],
      [5, 'account.error'],
      [6, 'send.created'],
      [7, 'account.reauth_required'],
    ]);
  });

  it('takes account.reauth_required when it is listed', () => {
    expect(deliveriesFor({ events: ['account.reauth_required'] }, CHANGES).map((delivery) => delivery.seq)).toEqual([
      7,
    ]);
  });

  it('takes only the listed events, a send update when send.sent, send.failed or send.bounced is listed', () => {
    expect(
      deliveriesFor({ events: ['draft.deleted', 'send.failed'] }, CHANGES).map((delivery) => delivery.seq),
    ).toEqual([2, 3]);
    expect(deliveriesFor({ events: ['send.bounced'] }, CHANGES).map((delivery) => delivery.seq)).toEqual([2]);
    expect(
      deliveriesFor({ events: ['message.updated', 'send.created'] }, CHANGES).map((delivery) => delivery.seq),
    ).toEqual([6]);
  });

  it('keeps the change’s entity and time', () => {
    expect(deliveriesFor({ events: ['message.created'] }, CHANGES)).toEqual([
      { seq: 1, type: 'message.created', entityId: CHANGES[0]?.entityId, changedAt: at },
    ]);
  });
});
