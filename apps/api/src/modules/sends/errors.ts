import { DomainError } from '@app/errors';

export class SendNotFoundError extends DomainError {
  readonly code = 'send_not_found';

  constructor(readonly sendId: string) {
    super(`Send ${sendId} not found`);
  }
}

/** An Idempotency-Key seen again with a different request: a client bug whose message would otherwise be dropped unseen. */
export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'idempotency_key_reused';

  constructor(readonly key: string) {
    super(
      `Idempotency-Key "${key}" was already used for a different request within the last 24 hours; nothing was sent. Use a new key for a new message.`,
    );
  }
}

/** A `sendAt` further ahead than a send may wait; nothing was stored. */
export class SendAtTooFarAheadError extends DomainError {
  readonly code = 'send_at_too_far_ahead';

  constructor(sendAt: string, maxDays: number) {
    super(`sendAt ${sendAt} is more than ${maxDays} days ahead; nothing was stored`);
  }
}

/** Cancel came too late: a worker has taken the send to the SMTP server, or it is sent. */
export class SendAlreadySentError extends DomainError {
  readonly code = 'send_already_sent';

  constructor(sendId: string, state: string) {
    super(`Send ${sendId} is ${state} and can no longer be cancelled`);
  }
}

/** Cancel of a send that failed for good: nothing is left to stop. */
export class SendAlreadyFailedError extends DomainError {
  readonly code = 'send_already_failed';

  constructor(sendId: string) {
    super(`Send ${sendId} failed and will not be sent; there is nothing to cancel`);
  }
}

export type SendErrorCode = (
  SendNotFoundError | IdempotencyKeyReusedError | SendAtTooFarAheadError | SendAlreadySentError | SendAlreadyFailedError
)['code'];
