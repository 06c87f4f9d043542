import { AppConfig } from '@app/config';
import { AccountRepository, StoredAttachmentRepository } from '@app/database';
import type { NewStoredAttachment, StoredAttachmentRef } from '@app/database';
import { AccountNotFoundError } from '@app/mail';
import type { Multipart } from '@fastify/multipart';
import {
  BadRequestException,
  HttpException,
  Injectable,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { megabytes } from '../../common/message-fields/message-content.js';
import { MAX_ATTACHMENTS, MIME_TYPE } from '../../common/message-fields/message-fields.dto.js';
import { MultipartPartHeaders } from './multipart-part-headers.js';

/** Control characters would end up in the Content-Disposition and Content-Type headers of the message. */
const CONTROL_CHARACTERS = /\p{Cc}/u;
const MAX_FILENAME_LENGTH = 255;

/** What @fastify/multipart raises for its own limits; the other part errors mean a malformed body. */
const MULTIPART_LIMIT_CODES = new Set(['FST_FILES_LIMIT', 'FST_PARTS_LIMIT', 'FST_FIELDS_LIMIT']);

/**
 * Attachments stored ahead of the draft or send that names them: multipart uploads for files too
 * large for base64 in JSON, and the lookup of stored attachments by id.
 */
@Injectable()
export class UploadsService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountRepository,
    private readonly storedAttachments: StoredAttachmentRepository,
  ) {}

  /**
   * Reads every file part of a multipart request and stores them together for the account, or
   * none. The whole body is always read, also after a refusal, so the client gets the JSON error
   * instead of a connection reset; memory holds at most MAX_MESSAGE_SIZE_MB of file data. A part
   * whose headers would carry a line break into the message refuses the whole upload, also when
   * the multipart parser dropped that part instead of handing it over.
   */
  async upload(accountId: string, request: FastifyRequest): Promise<StoredAttachmentRef[]> {
    if (!request.isMultipart())
      throw new UnsupportedMediaTypeException('Send multipart/form-data with one or more file parts');
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AccountNotFoundError(accountId, `Account ${accountId} not found`);
    const limitBytes = this.config.mail.maxMessageBytes;
    // Busboy cuts a file short one byte past the limit, so the byte count below sees it as too large.
    const boundary = MultipartPartHeaders.boundaryOf(request.headers['content-type']);
    if (!boundary) throw new BadRequestException('The multipart Content-Type names no boundary');
    const parts = request.parts({
      limits: { fileSize: limitBytes + 1, files: MAX_ATTACHMENTS, fields: MAX_ATTACHMENTS, fieldSize: 1024 },
    });
    const partHeaders = new MultipartPartHeaders(request.raw, boundary);
    const files = await readFileParts(parts, limitBytes, partHeaders);
    return this.storedAttachments.store(account.id, files);
  }

  /**
   * The stored attachments `ids` name, in that order, locked until the surrounding transaction
   * commits the draft or send that points at them. Ids of another tenant are as unknown as ids
   * that never existed; those of another account of the tenant are refused too.
   */
  async referenced(accountId: string, ids: readonly string[] | undefined): Promise<StoredAttachmentRef[]> {
    if (!ids || ids.length === 0) return [];
    const rows = new Map((await this.storedAttachments.lockForReference(ids)).map((row) => [row.storageKey, row]));
    const unknown = ids.filter((id) => rows.get(id)?.accountId !== accountId);
    if (unknown.length > 0) {
      throw new BadRequestException(
        `attachmentIds ${unknown.join(', ')} name no attachment stored for account ${accountId}; upload files with POST /api/compose/attachments?accountId=${accountId} first (uploads not used within 24 hours are removed)`,
      );
    }
    return ids.flatMap((id) => {
      const row = rows.get(id);
      return row
        ? [{ storageKey: row.storageKey, filename: row.filename, contentType: row.contentType, size: row.size }]
        : [];
    });
  }
}

/**
 * `partHeaders` sees every part; the parts handed over here lack those the parser dropped, so
 * their positions are only right when `partHeaders` found nothing, which is why its finding wins.
 */
async function readFileParts(
  parts: AsyncIterable<Multipart>,
  limitBytes: number,
  partHeaders: MultipartPartHeaders,
): Promise<NewStoredAttachment[]> {
  const files: NewStoredAttachment[] = [];
  let total = 0;
  let position = 0;
  let refusal: HttpException | null = null;
  try {
    for await (const part of parts) {
      position += 1;
      if (part.type === 'field') {
        refusal ??= new BadRequestException(
          `Part ${position}: unexpected form field "${part.fieldname}"; send each attachment as a file part (with a filename)`,
        );
        continue;
      }
      refusal ??= fileProblem(position, part.filename, part.mimetype);
      const chunks: Buffer[] = [];
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (refusal) continue;
        if (total > limitBytes) {
          refusal = uploadTooLarge(limitBytes);
          continue;
        }
        chunks.push(chunk);
      }
      if (!refusal)
        files.push({
          filename: part.filename,
          contentType: part.mimetype.toLowerCase(),
          content: Buffer.concat(chunks),
        });
    }
  } catch (error: unknown) {
    throw multipartError(error);
  }
  const headerProblem = await partHeaders.problem();
  if (headerProblem)
    throw new BadRequestException(`Part ${headerProblem.position}: ${headerProblem.problem}; nothing was stored`);
  if (refusal) throw refusal;
  if (files.length === 0)
    throw new BadRequestException(
      'The request has no file part; send each attachment as a file part with a filename (names with line breaks are refused)',
    );
  return files;
}

function fileProblem(position: number, filename: string, contentType: string): HttpException | null {
  if (filename.length === 0 || filename.length > MAX_FILENAME_LENGTH)
    return new BadRequestException(
      `Part ${position}: each file part needs a filename of 1-${MAX_FILENAME_LENGTH} characters`,
    );
  if (CONTROL_CHARACTERS.test(filename))
    return new BadRequestException(
      `Part ${position}: a filename must not contain line breaks or other control characters`,
    );
  if (!MIME_TYPE.test(contentType))
    return new BadRequestException(
      `Part ${position}: ${JSON.stringify(contentType)} is not a MIME type such as application/pdf`,
    );
  return null;
}

function multipartError(error: unknown): unknown {
  if (error instanceof HttpException) return error;
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  if (typeof code === 'string' && MULTIPART_LIMIT_CODES.has(code)) {
    return new PayloadTooLargeException(
      `At most ${MAX_ATTACHMENTS} files (and no more than ${MAX_ATTACHMENTS} other fields) per upload; nothing was stored`,
    );
  }
  if (error instanceof Error) return new BadRequestException(`The multipart body could not be read: ${error.message}`);
  return error;
}

/** The answer to an upload above the limit; nothing of it is stored. */
function uploadTooLarge(limitBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(
    `The upload exceeds ${megabytes(limitBytes)} MB, the size limit of a message (MAX_MESSAGE_SIZE_MB); nothing was stored`,
  );
}
