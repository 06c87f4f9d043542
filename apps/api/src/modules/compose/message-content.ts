import type { NewStoredAttachment } from '@app/database';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';

import type { MessageFieldsDto } from './dto/message-fields.dto.js';

/**
 * Bodies and attachments together, decoded. Common providers cap a message at 20-25 MB after
 * base64 (+33 %); 15 MB of content stays under that once encoded, and under the API's 25 MB
 * request limit once base64-encoded in the JSON body.
 */
export const MAX_MESSAGE_BYTES = 15 * 1024 * 1024;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function decodeAttachments(dto: MessageFieldsDto): NewStoredAttachment[] {
  return (dto.attachments ?? []).map((attachment) => ({
    filename: attachment.filename,
    contentType: attachment.contentType.toLowerCase(),
    content: Buffer.from(attachment.content, 'base64'),
  }));
}

export function assertWithinSizeLimit(text: string | null | undefined, html: string | null | undefined, attachmentBytes: number): void {
  const total = Buffer.byteLength(text ?? '') + Buffer.byteLength(html ?? '') + attachmentBytes;
  if (total > MAX_MESSAGE_BYTES) {
    throw new PayloadTooLargeException(
      `The message is ${megabytes(total)} MB (bodies and decoded attachments); the limit is ${megabytes(MAX_MESSAGE_BYTES)} MB`,
    );
  }
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
