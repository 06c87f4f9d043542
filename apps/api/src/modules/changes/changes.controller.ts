import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiGoneResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';

import { ChangesService } from './changes.service.js';
import { ChangesPageDto, ListChangesQueryDto } from './dto/changes.dto.js';

@ApiTags('changes')
@ApiBearerAuth()
@Controller('changes')
export class ChangesController {
  constructor(private readonly changes: ChangesService) {}

  @Get()
  @ApiOkResponse({ type: ChangesPageDto })
  @ApiBadRequestResponse({ description: 'A cursor this account’s log did not issue' })
  @ApiNotFoundResponse({ description: 'No such account for the tenant' })
  @ApiGoneResponse({ description: 'The cursor is older than CHANGES_RETENTION_DAYS: resync the account' })
  async list(@Query() query: ListChangesQueryDto): Promise<ChangesPageDto> {
    return this.changes.list(query.accountId, query.since, query.limit);
  }
}
