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

/** The message names no way to leave its list that this service can take for the user. */
export class UnsubscribeNotOfferedError extends DomainError {
  readonly code = 'unsubscribe_not_offered';

  constructor(url: string | null) {
    super(
      url
        ? `The list offers only a web page to unsubscribe, which the user has to open: ${url}`
        : 'The message names no way to unsubscribe (no List-Unsubscribe header)',
    );
  }
}

/** The list's one-click address did not take the request. */
export class UnsubscribeRefusedError extends DomainError {
  readonly code = 'unsubscribe_refused';

  constructor(reason: string) {
    super(`The list's unsubscribe address did not accept the request: ${reason}`);
  }
}

export type MessagesErrorCode = (
  | MessageNotFoundError
  | AttachmentNotFoundError
  | MessageBeingMovedError
  | UnsubscribeNotOfferedError
  | UnsubscribeRefusedError
)['code'];
