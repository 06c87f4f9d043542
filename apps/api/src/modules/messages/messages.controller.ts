import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { ListMessagesQueryDto } from './dto/list-messages-query.dto.js';
import { MessageDetailDto } from './dto/message-detail.dto.js';
import { MessagePageDto } from './dto/message-summary.dto.js';
import { MessagesService } from './messages.service.js';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

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
}
