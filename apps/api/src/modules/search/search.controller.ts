import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { SearchQueryDto } from './dto/search-query.dto.js';
import { SearchPageDto } from './dto/search-result.dto.js';
import { SearchService } from './search.service.js';

@ApiTags('search')
@ApiBearerAuth()
@Controller('sync')
export class SearchController {
  constructor(private readonly searches: SearchService) {}

  @Get('search')
  @ApiOkResponse({ type: SearchPageDto, description: 'Matching messages, newest first, each with why it matched' })
  @ApiBadRequestResponse({ description: 'The query does not parse; the message names the 1-based character position' })
  @ApiNotFoundResponse({ description: 'No such account' })
  async search(@Query() query: SearchQueryDto): Promise<SearchPageDto> {
    return this.searches.search(query.query, query.accountId, query.limit, query.cursor);
  }
}
