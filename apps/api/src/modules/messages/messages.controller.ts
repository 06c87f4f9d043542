import type { Readable } from 'node:stream';

import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { ApiImapDownload, setDownloadHeaders } from '../../common/imap-download.js';
import { MessageDownloadsService } from './attachments/message-downloads.service.js';
import { UnsubscribeResultDto } from './dto/unsubscribe-result.dto.js';
import { MessageUnsubscribeService } from './message-unsubscribe.service.js';
import { MessageActionAcceptedDto, MoveMessageDto, UpdateMessageFlagsDto } from './dto/message-actions.dto.js';

import { ListMessagesQueryDto } from './dto/list-messages-query.dto.js';
import { MessageDetailDto } from './dto/message-detail.dto.js';
import { MessagePageDto } from './dto/message-summary.dto.js';
import { MessageActionsService } from './message-actions.service.js';
import { MessagesService } from './messages.service.js';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('messages')
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly downloads: MessageDownloadsService,
    private readonly unsubscribes: MessageUnsubscribeService,
    private readonly actions: MessageActionsService,
  ) {}

  @Get()
  @ApiOkResponse({ type: MessagePageDto, description: 'Newest first (by the time the server received each message)' })
  @ApiBadRequestResponse({ description: 'Invalid filter or cursor' })
  @ApiNotFoundResponse({ description: 'No such account or folder' })
  async list(@Query() query: ListMessagesQueryDto): Promise<MessagePageDto> {
    const { accountId, folder, unread, flagged, limit, cursor } = query;
    return this.messages.list({ accountId, folder, unread, flagged }, limit, cursor);
  }

  @Get(':id')
  @ApiOkResponse({ type: MessageDetailDto })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<MessageDetailDto> {
    return this.messages.get(id);
  }

  @Get(':id/raw')
  @ApiImapDownload(
    'message/rfc822',
    'The original message (RFC 822 source) streamed from the IMAP server, as an .eml download',
  )
  @ApiNotFoundResponse({ description: 'No such message for the tenant, or it is no longer on the server' })
  @ApiConflictResponse({ description: 'The message is being moved; its new location is not known yet' })
  async downloadSource(
    @Param('id', ParseUUIDPipe) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const content = await this.downloads.openSource(id);
    setDownloadHeaders(reply, 'message/rfc822', `attachment; filename="${id}.eml"`);
    return content;
  }

  @Get(':id/attachments/:attachmentId')
  @ApiImapDownload(
    'application/octet-stream',
    'The decoded bytes, streamed from the IMAP server; Content-Disposition carries the file name (RFC 6266)',
  )
  @ApiNotFoundResponse({
    description: 'No such message or attachment for the tenant, or it is no longer on the server',
  })
  @ApiConflictResponse({ description: 'The message is being moved; its new location is not known yet' })
  async downloadAttachment(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('attachmentId', ParseUUIDPipe) attachmentId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const download = await this.downloads.open(id, attachmentId);
    setDownloadHeaders(reply, download.contentType, download.contentDisposition);
    return download.content;
  }

  @Patch(':id')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: MessageActionAcceptedDto,
    description: 'Changed here at once; applied on the IMAP server by a job',
  })
  @ApiBadRequestResponse({ description: 'Neither `seen` nor `flagged` given, or not booleans' })
  @ApiNotFoundResponse({ description: 'No such message for the tenant' })
  @ApiConflictResponse({ description: 'A move or delete of the message is still being applied' })
  @ApiServiceUnavailableResponse({
    description: 'IMAP access or background jobs are disabled, or the job could not be queued',
  })
  async setFlags(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateMessageFlagsDto,
  ): Promise<MessageActionAcceptedDto> {
    return this.actions.setFlags(id, body);
  }

  @Post(':id/move')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: MessageActionAcceptedDto,
    description: 'Shown in the destination at once; moved on the IMAP server by a job',
  })
  @ApiNotFoundResponse({ description: 'No such message, or no such folder in its account' })
  @ApiConflictResponse({ description: 'A move or delete of the message is still being applied' })
  @ApiServiceUnavailableResponse({
    description: 'IMAP access or background jobs are disabled, or the job could not be queued',
  })
  async move(@Param('id', ParseUUIDPipe) id: string, @Body() body: MoveMessageDto): Promise<MessageActionAcceptedDto> {
    return this.actions.move(id, body.folder);
  }

  @Post(':id/unsubscribe')
  @HttpCode(200)
  @ApiOkResponse({
    type: UnsubscribeResultDto,
    description:
      'Done the way the list asks: its one-click address took the request, or an unsubscribe mail was queued',
  })
  @ApiNotFoundResponse({ description: 'No such message for the tenant' })
  @ApiUnprocessableEntityResponse({
    description: 'No List-Unsubscribe this service can act on (the code says which), or the policy refuses the address',
  })
  @ApiBadGatewayResponse({ description: 'The list’s one-click address answered with an error or not at all' })
  async unsubscribe(@Param('id', ParseUUIDPipe) id: string): Promise<UnsubscribeResultDto> {
    return this.unsubscribes.unsubscribe(id);
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: MessageActionAcceptedDto,
    description:
      'Moved to Trash, or expunged when already in Trash (or the account has none); applied on the IMAP server by a job',
  })
  @ApiNotFoundResponse({ description: 'No such message for the tenant' })
  @ApiConflictResponse({ description: 'A move or delete of the message is still being applied' })
  @ApiServiceUnavailableResponse({
    description: 'IMAP access or background jobs are disabled, or the job could not be queued',
  })
  async delete(@Param('id', ParseUUIDPipe) id: string): Promise<MessageActionAcceptedDto> {
    return this.actions.delete(id);
  }
}
