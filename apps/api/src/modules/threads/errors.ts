import { DomainError } from '@app/errors';

export class ThreadNotFoundError extends DomainError {
  readonly code = 'thread_not_found';

  constructor(readonly threadId: string) {
    super(`thread ${threadId} not found`);
  }
}

export type ThreadsErrorCode = ThreadNotFoundError['code'];
