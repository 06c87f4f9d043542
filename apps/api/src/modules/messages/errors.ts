import { DomainError } from '@app/errors';

export class MessageNotFoundError extends DomainError {
  readonly code = 'message_not_found';

  constructor(readonly messageId: string) {
    super(`message ${messageId} not found`);
  }
}

export class AttachmentNotFoundError extends DomainError {
  readonly code = 'attachment_not_found';

  constructor(
    readonly messageId: string,
    readonly attachmentId: string,
  ) {
    super(`attachment ${attachmentId} of message ${messageId} not found`);
  }
}

/** The message sits at a placeholder UID while a move is applied; its parts cannot be fetched until the server confirms where it went. */
export class MessageBeingMovedError extends DomainError {
  readonly code = 'message_action_pending';

  constructor() {
    super('the message is being moved on the server; try again in a moment');
  }
}

export type MessagesErrorCode = (MessageNotFoundError | AttachmentNotFoundError | MessageBeingMovedError)['code'];
