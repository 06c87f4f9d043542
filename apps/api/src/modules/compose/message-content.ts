import type { NewStoredAttachment } from '@app/database';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';

import type { MessageFieldsDto } from './dto/message-fields.dto.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function decodeAttachments(dto: MessageFieldsDto): NewStoredAttachment[] {
  return (dto.attachments ?? []).map((attachment) => ({
    filename: attachment.filename,
    contentType: attachment.contentType.toLowerCase(),
    content: Buffer.from(attachment.content, 'base64'),
  }));
}

/** `limitBytes` is MAX_MESSAGE_SIZE_MB: bodies and decoded attachments together. */
export function assertWithinSizeLimit(limitBytes: number, text: string | null | undefined, html: string | null | undefined, attachments: readonly { size: number }[]): void {
  const total = Buffer.byteLength(text ?? '') + Buffer.byteLength(html ?? '') + attachments.reduce((sum, attachment) => sum + attachment.size, 0);
  if (total > limitBytes) {
    throw new PayloadTooLargeException(`The message is ${megabytes(total)} MB (bodies and decoded attachments); the limit is ${megabytes(limitBytes)} MB`);
  }
}

/** The answer to an upload above the limit; nothing of it is stored. */
export function uploadTooLarge(limitBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(`The upload exceeds ${megabytes(limitBytes)} MB, the size limit of a message (MAX_MESSAGE_SIZE_MB); nothing was stored`);
}

/** `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): any printable ASCII, up to 255 characters here. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(value)) throw new BadRequestException('Idempotency-Key must be 1-255 printable ASCII characters');
  return value;
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
