import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { ListThreadsQueryDto, ThreadDto, ThreadPageDto } from './dto/thread.dto.js';
import { ThreadsService } from './threads.service.js';

@ApiTags('threads')
@ApiBearerAuth()
@Controller('threads')
export class ThreadsController {
  constructor(private readonly threads: ThreadsService) {}

  @Get()
  @ApiOkResponse({ type: ThreadPageDto, description: 'Most recently active first' })
  @ApiBadRequestResponse({ description: 'Invalid cursor' })
  @ApiNotFoundResponse({ description: 'No such account' })
  async list(@Query() query: ListThreadsQueryDto): Promise<ThreadPageDto> {
    return this.threads.list(query.accountId, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOkResponse({ type: ThreadDto })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<ThreadDto> {
    return this.threads.get(id);
  }
}
