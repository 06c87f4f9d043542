import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiGoneResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { ChangeEventStreams } from './change-event-streams.js';
import { EventsQueryDto } from './dto/events-query.dto.js';

@ApiTags('changes')
@ApiBearerAuth()
@Controller('events')
export class EventsController {
  constructor(private readonly streams: ChangeEventStreams) {}

  @Get()
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event (what EventSource sends on reconnect); absent: from now on',
  })
  @ApiOkResponse({
    description:
      'Server-sent events, one per change: `id` is the change log cursor (usable as `since` of /api/changes), `data` the change as /api/changes lists it; a `: heartbeat` comment every 15 s; the stream ends when the token expires',
  })
  @ApiBadRequestResponse({ description: 'A Last-Event-ID this stream did not issue' })
  @ApiNotFoundResponse({ description: 'No such account for the tenant' })
  @ApiGoneResponse({ description: 'Last-Event-ID is older than CHANGES_RETENTION_DAYS: resync the account' })
  async stream(
    @Query() query: EventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.streams.stream(query.accountId, lastEventId, request, reply);
  }
}
