import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';

import { SyncRequestQueryDto } from './dto/sync-request.dto.js';
import { SyncAcceptedDto, SyncStatusDto } from './dto/sync-response.dto.js';
import { SyncService } from './sync.service.js';

@ApiTags('sync')
@ApiBearerAuth()
@Controller('sync')
export class SyncController {
  constructor(private readonly sync: SyncService) {}

  @Post('imap/:accountId')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: SyncAcceptedDto,
    description: 'Queued; a sync already queued or running for the account is returned instead of a second one',
  })
  @ApiNotFoundResponse({ description: 'No such account for the tenant' })
  @ApiServiceUnavailableResponse({ description: 'IMAP sync or background jobs are disabled' })
  async request(
    @Param('accountId', ParseUUIDPipe) accountId: string,
    @Query() query: SyncRequestQueryDto,
  ): Promise<SyncAcceptedDto> {
    return this.sync.request(accountId, query);
  }

  @Get('status/:accountId')
  @ApiOkResponse({ type: SyncStatusDto })
  @ApiNotFoundResponse({ description: 'No such account for the tenant' })
  async status(@Param('accountId', ParseUUIDPipe) accountId: string): Promise<SyncStatusDto> {
    return this.sync.status(accountId);
  }
}
