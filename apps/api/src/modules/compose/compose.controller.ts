import { Body, Controller, Delete, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Put, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AttachmentsService } from './attachments.service.js';
import { ComposeService } from './compose.service.js';
import type { SendResult } from './compose.service.js';
import { ComposeMessageDto } from './dto/compose-message.dto.js';
import { CreateDraftDto, ListDraftsQueryDto, UpdateDraftDto, UploadAttachmentsQueryDto } from './dto/draft.dto.js';
import { DraftDto, DraftPageDto, SendRecordDto, StoredAttachmentDto } from './dto/responses.dto.js';
import { DraftsService } from './drafts.service.js';
import { parseIdempotencyKey } from './message-content.js';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Repeating a request with the same key within 24 h returns the first result and sends nothing new; the same key with a different request answers 422',
};
const KEY_REUSED = { description: 'The Idempotency-Key was used for a different request; nothing was sent' };
const REPLAYED_HEADER = 'idempotent-replayed';

@ApiTags('compose')
@ApiBearerAuth()
@Controller('compose')
export class ComposeController {
  constructor(
    private readonly compose: ComposeService,
    private readonly drafts: DraftsService,
    private readonly attachments: AttachmentsService,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiAcceptedResponse({ type: SendRecordDto, description: 'Queued; poll GET /api/compose/outbox/{id}' })
  @ApiBadRequestResponse({ description: 'Invalid addresses, no recipient, line breaks in header values' })
  @ApiPayloadTooLargeResponse({ description: 'Bodies and attachments exceed the message size limit' })
  @ApiUnprocessableEntityResponse(KEY_REUSED)
  @ApiServiceUnavailableResponse({ description: 'Sending is disabled (ENABLE_SMTP_SEND=false)' })
  async send(
    @Body() body: ComposeMessageDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendRecordDto> {
    return respond(await this.compose.compose(body, parseIdempotencyKey(key)), reply);
  }

  @Post('send/:draftId')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiAcceptedResponse({ type: SendRecordDto })
  @ApiNotFoundResponse()
  @ApiUnprocessableEntityResponse(KEY_REUSED)
  @ApiServiceUnavailableResponse({ description: 'Sending is disabled (ENABLE_SMTP_SEND=false)' })
  async sendDraft(
    @Param('draftId', ParseUUIDPipe) draftId: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendRecordDto> {
    return respond(await this.compose.sendDraft(draftId, parseIdempotencyKey(key)), reply);
  }

  @Get('outbox/:id')
  @ApiOkResponse({ type: SendRecordDto })
  @ApiNotFoundResponse()
  async outboxItem(@Param('id', ParseUUIDPipe) id: string): Promise<SendRecordDto> {
    return SendRecordDto.from(await this.compose.outboxItem(id));
  }

  @Post('attachments')
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    description:
      'One or more file parts (any field name); each needs a filename, and its Content-Type becomes the attachment\'s. A part whose filename or Content-Type holds a line break or another control character refuses the whole upload (400 naming the part by its position, counted from 1); nothing is stored.',
    schema: { type: 'object', required: ['file'], properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } } },
  })
  @ApiCreatedResponse({
    type: [StoredAttachmentDto],
    description: 'Stored for the account; name them in attachmentIds of a draft or of POST /api/compose. Uploads not used within 24 hours are removed.',
  })
  @ApiBadRequestResponse({ description: 'No file part, a form field, or a filename or Content-Type that cannot go into a mail header' })
  @ApiNotFoundResponse({ description: 'No such account' })
  @ApiPayloadTooLargeResponse({ description: 'The files together exceed the message size limit (MAX_MESSAGE_SIZE_MB); nothing is stored' })
  @ApiUnsupportedMediaTypeResponse({ description: 'The body is not multipart/form-data' })
  async uploadAttachments(@Query() query: UploadAttachmentsQueryDto, @Req() request: FastifyRequest): Promise<StoredAttachmentDto[]> {
    return (await this.attachments.upload(query.accountId, request)).map((attachment) => StoredAttachmentDto.from(attachment));
  }

  @Post('draft')
  @ApiCreatedResponse({ type: DraftDto })
  @ApiNotFoundResponse({ description: 'No such account' })
  @ApiPayloadTooLargeResponse()
  async createDraft(@Body() body: CreateDraftDto): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.create(body));
  }

  @Get('drafts')
  @ApiOkResponse({ type: DraftPageDto })
  async listDrafts(@Query() query: ListDraftsQueryDto): Promise<DraftPageDto> {
    const page = await this.drafts.list(query.accountId, query.limit, query.cursor);
    return { items: page.items.map((draft) => DraftDto.from(draft)), nextCursor: page.nextCursor };
  }

  @Get('drafts/:id')
  @ApiOkResponse({ type: DraftDto })
  @ApiNotFoundResponse()
  async getDraft(@Param('id', ParseUUIDPipe) id: string): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.get(id));
  }

  @Put('drafts/:id')
  @ApiOkResponse({ type: DraftDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The version is stale, or the draft is being sent' })
  async updateDraft(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateDraftDto): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.update(id, body));
  }

  @Delete('drafts/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted here; the IMAP copy follows' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The draft is being sent' })
  async deleteDraft(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.drafts.delete(id);
  }
}

function respond(result: SendResult, reply: FastifyReply): SendRecordDto {
  if (!result.created) void reply.header(REPLAYED_HEADER, 'true');
  return SendRecordDto.from(result.record);
}
