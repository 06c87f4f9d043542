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

export type SendErrorCode = (SendNotFoundError | IdempotencyKeyReusedError)['code'];
