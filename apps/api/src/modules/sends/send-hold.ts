import { MAX_SCHEDULE_DAYS } from './dto/send-at.js';
import { SendAtTooFarAheadError } from './errors.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Until when a send accepted at `now` is held: the `sendAt` the client asked for or the end of
 * the undo window, whichever is later; null when that is now. A `sendAt` already past asks for
 * now. One further ahead than MAX_SCHEDULE_DAYS is refused.
 */
export function sendHeldUntil(requested: string | undefined, undoMs: number, now: number): Date | null {
  const requestedAt = requested === undefined ? now : Date.parse(requested);
  if (requestedAt > now + MAX_SCHEDULE_DAYS * DAY_MS)
    throw new SendAtTooFarAheadError(requested ?? '', MAX_SCHEDULE_DAYS);
  const dueAt = Math.max(requestedAt, now + undoMs);
  return dueAt > now ? new Date(dueAt) : null;
}
