import type { NewStoredAttachment } from '@app/database';
import { PayloadTooLargeException } from '@nestjs/common';

import type { MessageFieldsDto } from './message-fields.dto.js';

export function decodeAttachments(dto: MessageFieldsDto): NewStoredAttachment[] {
  return (dto.attachments ?? []).map((attachment) => ({
    filename: attachment.filename,
    contentType: attachment.contentType.toLowerCase(),
    content: Buffer.from(attachment.content, 'base64'),
  }));
}

/** `limitBytes` is MAX_MESSAGE_SIZE_MB: bodies and decoded attachments together. */
export function assertWithinSizeLimit(
  limitBytes: number,
  text: string | null | undefined,
  html: string | null | undefined,
  attachments: readonly { size: number }[],
): void {
  const total =
    Buffer.byteLength(text ?? '') +
    Buffer.byteLength(html ?? '') +
    attachments.reduce((sum, attachment) => sum + attachment.size, 0);
  if (total > limitBytes) {
    throw new PayloadTooLargeException(
      `The message is ${megabytes(total)} MB (bodies and decoded attachments); the limit is ${megabytes(limitBytes)} MB`,
    );
  }
}

/** Megabytes with one decimal, as the size refusals quote them. */
export function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
