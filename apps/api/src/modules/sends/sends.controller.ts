import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { OptionalBody } from '../../common/optional-body.js';
import { ComposeMessageDto } from './dto/compose-message.dto.js';
import { SendDraftDto } from './dto/send-at.js';
import { SendRecordDto } from './dto/send-record.dto.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import { SendsService } from './sends.service.js';
import type { SendResult } from './sends.service.js';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Repeating a request with the same key within 24 h returns the first result and sends nothing new; the same key with a different request answers 422',
};
const KEY_REUSED = { description: 'The Idempotency-Key was used for a different request; nothing was sent' };
const REPLAYED_HEADER = 'idempotent-replayed';

/** Sending a message or a draft, and the state of a send; under /api/compose with the drafts and uploads. */
@ApiTags('compose')
@ApiBearerAuth()
@Controller('compose')
export class SendsController {
  constructor(private readonly sends: SendsService) {}

  @Post()
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiAcceptedResponse({ type: SendRecordDto, description: 'Queued; poll GET /api/compose/outbox/{id}' })
  @ApiBadRequestResponse({
    description: 'Invalid addresses, no recipient, line breaks in header values, sendAt without zone or too far ahead',
  })
  @ApiPayloadTooLargeResponse({ description: 'Bodies and attachments exceed the message size limit' })
  @ApiUnprocessableEntityResponse(KEY_REUSED)
  @ApiServiceUnavailableResponse({ description: 'Sending is disabled (ENABLE_SMTP_SEND=false)' })
  async send(
    @Body() body: ComposeMessageDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendRecordDto> {
    return respond(await this.sends.sendMessage(body, parseIdempotencyKey(key)), reply);
  }

  @Post('send/:draftId')
  @HttpCode(202)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiBody({ type: SendDraftDto, required: false, description: 'Optional; without it the draft is sent at once' })
  @ApiAcceptedResponse({ type: SendRecordDto })
  @ApiBadRequestResponse({ description: 'sendAt without zone or too far ahead' })
  @ApiNotFoundResponse()
  @ApiUnprocessableEntityResponse(KEY_REUSED)
  @ApiServiceUnavailableResponse({ description: 'Sending is disabled (ENABLE_SMTP_SEND=false)' })
  async sendDraft(
    @Param('draftId', ParseUUIDPipe) draftId: string,
    @OptionalBody() body: SendDraftDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendRecordDto> {
    return respond(await this.sends.sendDraft(draftId, body.sendAt, parseIdempotencyKey(key)), reply);
  }

  @Get('outbox/:id')
  @ApiOkResponse({
    type: SendRecordDto,
    description:
      'The state of the send; `bounces` and `delays` list what notices synced into the account said about its recipients',
  })
  @ApiNotFoundResponse()
  async outboxItem(@Param('id', ParseUUIDPipe) id: string): Promise<SendRecordDto> {
    const { record, reports } = await this.sends.findSendRecord(id);
    return SendRecordDto.from(record, reports);
  }

  @Post('outbox/:id/cancel')
  @HttpCode(200)
  @ApiOkResponse({
    type: SendRecordDto,
    description: 'Cancelled (also when it already was): nothing is sent, and a draft it came from is listed again',
  })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Too late: the send has left or is leaving (send_already_sent), or it failed' })
  async cancel(@Param('id', ParseUUIDPipe) id: string): Promise<SendRecordDto> {
    return SendRecordDto.from(await this.sends.cancel(id));
  }
}

function respond(result: SendResult, reply: FastifyReply): SendRecordDto {
  if (!result.created) void reply.header(REPLAYED_HEADER, 'true');
  return SendRecordDto.from(result.record);
}
