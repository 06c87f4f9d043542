import { Controller, Post, Query, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

import { StoredAttachmentDto } from '../../common/message-fields/stored-attachment.dto.js';
import { UploadAttachmentsQueryDto } from './dto/upload-attachments-query.dto.js';
import { UploadsService } from './uploads.service.js';

/** Attachment uploads ahead of the draft or send that names them; under /api/compose with the sends and drafts. */
@ApiTags('compose')
@ApiBearerAuth()
@Controller('compose')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Post('attachments')
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    description:
      "One or more file parts (any field name); each needs a filename, and its Content-Type becomes the attachment's. A part whose filename or Content-Type holds a line break or another control character refuses the whole upload (400 naming the part by its position, counted from 1); nothing is stored.",
    schema: {
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } },
    },
  })
  @ApiCreatedResponse({
    type: [StoredAttachmentDto],
    description:
      'Stored for the account; name them in attachmentIds of a draft or of POST /api/compose. Uploads not used within 24 hours are removed.',
  })
  @ApiBadRequestResponse({
    description: 'No file part, a form field, or a filename or Content-Type that cannot go into a mail header',
  })
  @ApiNotFoundResponse({ description: 'No such account' })
  @ApiPayloadTooLargeResponse({
    description: 'The files together exceed the message size limit (MAX_MESSAGE_SIZE_MB); nothing is stored',
  })
  @ApiUnsupportedMediaTypeResponse({ description: 'The body is not multipart/form-data' })
  async uploadAttachments(
    @Query() query: UploadAttachmentsQueryDto,
    @Req() request: FastifyRequest,
  ): Promise<StoredAttachmentDto[]> {
    return (await this.uploads.upload(query.accountId, request)).map((attachment) =>
      StoredAttachmentDto.from(attachment),
    );
  }
}
