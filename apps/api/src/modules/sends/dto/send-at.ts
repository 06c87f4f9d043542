import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches } from 'class-validator';

/** How far ahead a send may be scheduled. */
export const MAX_SCHEDULE_DAYS = 30;

/** An instant, not a wall-clock time: without its offset the server would have to guess the sender's zone. */
const WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The optional `sendAt` of a send: an ISO-8601 date-time with its zone, at most MAX_SCHEDULE_DAYS ahead. */
export function IsSendAt(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: String,
      format: 'date-time',
      example: '2026-12-24T09:00:00+01:00',
      description: `Send then instead of at once: ISO-8601 with \`Z\` or an offset, at most ${MAX_SCHEDULE_DAYS} days ahead (a time in the past sends at once). Until it leaves, POST /api/compose/outbox/{id}/cancel stops it.`,
    }),
    IsOptional(),
    IsString(),
    Matches(WITH_ZONE, {
      message: 'sendAt must be an ISO-8601 date-time with Z or an offset, e.g. 2026-12-24T09:00:00Z',
    }),
    IsISO8601({ strict: true }, { message: 'sendAt must be a valid ISO-8601 date-time' }),
  );
}

/** The body of POST /api/compose/send/{draftId}, which may also be left out. */
export class SendDraftDto {
  @IsSendAt()
  sendAt?: string;
}
