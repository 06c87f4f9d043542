import { SendAtTooFarAheadError } from './errors.js';
import { sendHeldUntil } from './send-hold.js';

describe('sendHeldUntil', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('is null for a send at once without an undo window, and for a sendAt already past', () => {
    expect(sendHeldUntil(undefined, 0, now)).toBeNull();
    expect(sendHeldUntil('2026-12-07T11:00:00Z', 0, now)).toBeNull();
    expect(sendHeldUntil('2026-12-07T12:00:00Z', 0, now)).toBeNull();
  });

  it('holds until the sendAt, read with its offset', () => {
    expect(sendHeldUntil('2026-12-07T14:30:00+01:00', 0, now)).toEqual(new Date('2026-12-07T13:30:00Z'));
  });

  it('holds for the undo window, also a sendAt inside it or past, and a sendAt beyond it until then', () => {
    const windowEnd = new Date(now + 10_000);

    expect(sendHeldUntil(undefined, 10_000, now)).toEqual(windowEnd);
    expect(sendHeldUntil('2026-12-07T12:00:05Z', 10_000, now)).toEqual(windowEnd);
    expect(sendHeldUntil('2026-12-01T00:00:00Z', 10_000, now)).toEqual(windowEnd);
    expect(sendHeldUntil('2026-12-07T12:01:00Z', 10_000, now)).toEqual(new Date('2026-12-07T12:01:00Z'));
  });

  it('takes a sendAt up to 30 days ahead and refuses one further, naming it', () => {
    expect(sendHeldUntil('2027-01-06T12:00:00Z', 0, now)).toEqual(new Date('2027-01-06T12:00:00Z'));

    const sut = (): Date | null => sendHeldUntil('2027-01-06T12:00:00.001Z', 0, now);

    expect(sut).toThrow(SendAtTooFarAheadError);
    expect(sut).toThrow('sendAt 2027-01-06T12:00:00.001Z is more than 30 days ahead; nothing was stored');
  });
});
