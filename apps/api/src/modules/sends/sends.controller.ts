import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { ComposeMessageDto } from './dto/compose-message.dto.js';
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
  @ApiBadRequestResponse({ description: 'Invalid addresses, no recipient, line breaks in header values' })
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
  @ApiAcceptedResponse({ type: SendRecordDto })
  @ApiNotFoundResponse()
  @ApiUnprocessableEntityResponse(KEY_REUSED)
  @ApiServiceUnavailableResponse({ description: 'Sending is disabled (ENABLE_SMTP_SEND=false)' })
  async sendDraft(
    @Param('draftId', ParseUUIDPipe) draftId: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendRecordDto> {
    return respond(await this.sends.sendDraft(draftId, parseIdempotencyKey(key)), reply);
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
}

function respond(result: SendResult, reply: FastifyReply): SendRecordDto {
  if (!result.created) void reply.header(REPLAYED_HEADER, 'true');
  return SendRecordDto.from(result.record);
}
